import { InvalidInputError } from "../errors/etcd-error.js";

/** "Basic base64(user:password)" over UTF-8, or undefined without a username. */
export function basicAuth(
  username: string | undefined,
  password: string | undefined,
): string | undefined {
  if (username === undefined || username === "") {
    if (password) throw new InvalidInputError("a password needs a username", "password");
    return undefined;
  }
  if (username.includes(":")) {
    throw new InvalidInputError("a username for basic auth cannot contain ':'", "username");
  }
  const bytes = new TextEncoder().encode(`${username}:${password ?? ""}`);
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return `Basic ${btoa(binary)}`;
}
