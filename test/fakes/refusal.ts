import { InvalidInputError } from "../../src/errors/etcd-error.js";

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
