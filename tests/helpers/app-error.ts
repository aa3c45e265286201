/** The AppError a call throws or a promise rejects with; fails the test when there is none. */
import { expect } from "bun:test";
import { AppError } from "../../lib/core/errors.ts";

function asAppError(err: unknown): AppError {
  expect(err).toBeInstanceOf(AppError);
  return err as AppError;
}

export function thrownBy(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    return asAppError(err);
  }
  throw new Error("expected an AppError, but nothing was thrown");
}

export async function rejectionOf(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (err) {
    return asAppError(err);
  }
  throw new Error("expected an AppError, but the promise resolved");
}
