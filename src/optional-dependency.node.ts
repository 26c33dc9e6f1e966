import { InvalidInputError } from "./errors/etcd-error.js";

/**
 * Loads an optional peer dependency of etcd-web: a Node-only package that only some features
 * need, so that a browser app's install holds none of them. Missing, it is an
 * InvalidInputError that says which feature needs it and how to install it.
 */
export async function optionalDependency<T>(
  name: string,
  load: () => Promise<T>,
  neededFor: string,
  install: string,
): Promise<T> {
  try {
    return await load();
  } catch (e) {
    if (!isMissing(e, name)) throw e;
    throw new InvalidInputError(
      `${neededFor} needs the package ${name}, which is not installed: npm install ${install}`,
      name,
    );
  }
}

/** True when e is Node's "cannot find package" for this package (not for one it imports). */
export function isMissing(e: unknown, name: string): boolean {
  const code = (e as { code?: unknown } | undefined)?.code;
  const message = e instanceof Error ? e.message : "";
  return (
    (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") &&
    message.includes(`'${name}'`)
  );
}
