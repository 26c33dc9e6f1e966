import { InvalidInputError } from "../../src/errors/etcd-error.js";
import { freePort } from "../harness/ports.js";

/** Runs f and returns the InvalidInputError it throws; fails the test if it throws none. */
export function refusal(f: () => unknown): InvalidInputError {
  try {
    f();
  } catch (e) {
    if (e instanceof InvalidInputError) return e;
    throw e;
  }
  throw new Error("expected an InvalidInputError");
}

/** A URL on 127.0.0.1 whose port was free a moment ago: connecting to it is refused. */
export async function refusedUrl(): Promise<string> {
  return `http://127.0.0.1:${await freePort()}`;
}
