/**
 * Field-level error messages for forms, from the server's `details` or from
 * the shared zod schemas run in the browser before sending: both speak in
 * paths, the forms speak in field names.
 */
import type { ErrorDetail } from "@shared/protocol/index.js";
import { ErrorCode } from "@shared/protocol/index.js";
import { ApiError } from "@web/api/http";

export type FieldErrors = Readonly<Record<string, string>>;

/** First message per field; a path such as "body.email" counts for "email". */
export function fieldErrorsFrom(details: readonly ErrorDetail[]): FieldErrors {
  const errors: Record<string, string> = {};
  for (const detail of details) {
    const field = detail.path.split(".").filter(Boolean).pop() ?? "";
    if (!(field in errors)) errors[field] = detail.message;
  }
  return errors;
}

/** zod issues (path arrays) as ErrorDetails. */
export function detailsFromIssues(issues: readonly { path: readonly PropertyKey[]; message: string }[]): ErrorDetail[] {
  return issues.map((issue) => ({ path: issue.path.map(String).join("."), message: issue.message }));
}

/**
 * Errors to show for a failed form submit: field errors where the server
 * named a field (or where the code implies one), else a form-level message
 * under the key "form".
 */
export function formErrorsFrom(error: unknown): FieldErrors {
  if (!(error instanceof ApiError)) return { form: "Something went wrong. Please try again." };
  if (error.code === ErrorCode.UsernameTaken) return { username: error.message || "That username is taken." };
  if (error.code === ErrorCode.EmailTaken) return { email: error.message || "That email is already registered." };
  const fields = fieldErrorsFrom(error.details);
  // A detail with an empty path concerns the whole form.
  const { "": whole, ...named } = fields;
  if (Object.keys(named).length > 0) return whole ? { ...named, form: whole } : named;
  return { form: whole ?? error.message };
}
