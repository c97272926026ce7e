import { describe, expect, it } from "vitest";
import { SignupRequestSchema } from "@shared/protocol/index.js";
import { ApiError } from "@web/api/http";
import { detailsFromIssues, fieldErrorsFrom, formErrorsFrom } from "./fieldErrors";

describe("field errors", () => {
  it("maps server details to fields, first message wins", () => {
    expect(
      fieldErrorsFrom([
        { path: "email", message: "bad email" },
        { path: "body.password", message: "too short" },
        { path: "email", message: "second" },
      ]),
    ).toEqual({ email: "bad email", password: "too short" });
  });

  it("puts the confirm mismatch from the shared schema on passwordConfirm", () => {
    const parsed = SignupRequestSchema.safeParse({
      email: "a@b.io",
      username: "ada",
      password: "correct horse",
      passwordConfirm: "battery staple",
    });
    expect(parsed.success).toBe(false);
    if (!parsed.success) {
      expect(fieldErrorsFrom(detailsFromIssues(parsed.error.issues))).toEqual({ passwordConfirm: "Passwords do not match." });
    }
  });

  it("turns conflicts into field errors and other failures into a form error", () => {
    expect(formErrorsFrom(new ApiError(409, "username_taken", "Username is taken."))).toEqual({ username: "Username is taken." });
    expect(formErrorsFrom(new ApiError(401, "unauthenticated", "Wrong username or password."))).toEqual({
      form: "Wrong username or password.",
    });
    expect(formErrorsFrom(new Error("boom"))).toHaveProperty("form");
  });
});
