/**
 * Sign in and sign up. The forms check input with the same shared schemas
 * the server uses, then show the server's field errors (`details`) next to
 * the fields they concern. An error is tied to its input (`aria-invalid`,
 * `aria-describedby`) and the first invalid field takes the focus.
 */
import { cloneElement, isValidElement, useEffect, useRef, useState, type FormEvent, type ReactElement, type ReactNode } from "react";
import { LoginRequestSchema, SignupRequestSchema, type Self } from "@shared/protocol/index.js";
import type { ParleyApi } from "@web/api/http";
import { detailsFromIssues, fieldErrorsFrom, formErrorsFrom, type FieldErrors } from "./fieldErrors";

type Mode = "login" | "signup";

export interface AuthScreenProps {
  api: ParleyApi;
  onSignedIn: (user: Self) => void;
  /** Shown above the form, e.g. "Your session ended." */
  notice?: string | null;
}

export function AuthScreen({ api, onSignedIn, notice }: AuthScreenProps) {
  const [mode, setMode] = useState<Mode>("login");
  return (
    <div className="auth">
      <div className="auth__card" data-testid="auth-screen">
        <div className="auth__brand">
          <span className="logo" aria-hidden="true">P</span>
          <span>Parley</span>
        </div>
        <h1 className="auth__title">{mode === "login" ? "Sign in to Parley" : "Create your account"}</h1>
        {notice ? (
          <p className="notice" role="status" data-testid="auth-notice">
            {notice}
          </p>
        ) : null}
        {mode === "login" ? <LoginForm api={api} onSignedIn={onSignedIn} /> : <SignupForm api={api} onSignedIn={onSignedIn} />}
        <p className="auth__switch">
          {mode === "login" ? "New here? " : "Already have an account? "}
          <button
            type="button"
            className="link-button"
            data-testid={mode === "login" ? "show-signup" : "show-login"}
            onClick={() => setMode(mode === "login" ? "signup" : "login")}
          >
            {mode === "login" ? "Create an account" : "Sign in"}
          </button>
        </p>
      </div>
    </div>
  );
}

function LoginForm({ api, onSignedIn }: Omit<AuthScreenProps, "notice">) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [errors, setErrors] = useState<FieldErrors>({});
  const [busy, setBusy] = useState(false);
  const form = useFocusFirstInvalid(errors);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const parsed = LoginRequestSchema.safeParse({ username, password });
    if (!parsed.success) {
      setErrors(
        fieldErrorsFrom(
          detailsFromIssues(parsed.error.issues).map((d) => ({
            ...d,
            message: d.path === "username" ? "Enter your username or email." : "Enter your password.",
          })),
        ),
      );
      return;
    }
    setBusy(true);
    setErrors({});
    try {
      const session = await api.login(parsed.data);
      onSignedIn(session.user);
    } catch (error) {
      setErrors(formErrorsFrom(error));
      setBusy(false);
    }
  }

  return (
    <form className="form" onSubmit={submit} noValidate data-testid="login-form" ref={form}>
      <Field label="Username or email" error={errors.username} name="username">
        <input
          id="username"
          name="username"
          autoComplete="username"
          autoFocus
          value={username}
          onChange={(e) => setUsername(e.target.value)}
          data-testid="login-username"
        />
      </Field>
      <Field label="Password" error={errors.password} name="password">
        <input
          id="password"
          name="password"
          type="password"
          autoComplete="current-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          data-testid="login-password"
        />
      </Field>
      <FormError message={errors.form} />
      <button className="button button--primary button--block" type="submit" disabled={busy} data-testid="login-submit">
        {busy ? "Signing in…" : "Sign in"}
      </button>
    </form>
  );
}

function SignupForm({ api, onSignedIn }: Omit<AuthScreenProps, "notice">) {
  const [values, setValues] = useState({ email: "", username: "", displayName: "", password: "", passwordConfirm: "" });
  const [errors, setErrors] = useState<FieldErrors>({});
  const [busy, setBusy] = useState(false);
  const form = useFocusFirstInvalid(errors);
  const set = (field: keyof typeof values) => (e: { target: { value: string } }) =>
    setValues((v) => ({ ...v, [field]: e.target.value }));

  async function submit(event: FormEvent) {
    event.preventDefault();
    // The display name is optional: left blank (or only spaces), the server uses the username.
    const { displayName, ...required } = values;
    const parsed = SignupRequestSchema.safeParse(displayName.trim() === "" ? required : values);
    if (!parsed.success) {
      setErrors(fieldErrorsFrom(detailsFromIssues(parsed.error.issues)));
      return;
    }
    setBusy(true);
    setErrors({});
    try {
      const session = await api.signup(parsed.data);
      onSignedIn(session.user);
    } catch (error) {
      setErrors(formErrorsFrom(error));
      setBusy(false);
    }
  }

  return (
    <form className="form" onSubmit={submit} noValidate data-testid="signup-form" ref={form}>
      <Field label="Email" error={errors.email} name="email">
        <input id="email" name="email" type="email" autoComplete="email" autoFocus value={values.email}
          onChange={set("email")} data-testid="signup-email" />
      </Field>
      <Field label="Username" error={errors.username} name="username" hint="3–32 characters: letters, digits, _ . -">
        <input id="username" name="username" autoComplete="username" value={values.username}
          onChange={set("username")} data-testid="signup-username" />
      </Field>
      <Field label="Display name (optional)" error={errors.displayName} name="displayName"
        hint="The name people see; your username if left empty">
        <input id="displayName" name="displayName" autoComplete="name" value={values.displayName}
          onChange={set("displayName")} data-testid="signup-display-name" />
      </Field>
      <Field label="Password" error={errors.password} name="password" hint="At least 8 characters">
        <input id="password" name="password" type="password" autoComplete="new-password" value={values.password}
          onChange={set("password")} data-testid="signup-password" />
      </Field>
      <Field label="Confirm password" error={errors.passwordConfirm} name="passwordConfirm">
        <input id="passwordConfirm" name="passwordConfirm" type="password" autoComplete="new-password"
          value={values.passwordConfirm} onChange={set("passwordConfirm")} data-testid="signup-password-confirm" />
      </Field>
      <FormError message={errors.form} />
      <button className="button button--primary button--block" type="submit" disabled={busy} data-testid="signup-submit">
        {busy ? "Creating account…" : "Create account"}
      </button>
    </form>
  );
}

/** After a failed submit, moves the focus to the form's first invalid field (a screen reader then reads its error). */
function useFocusFirstInvalid(errors: FieldErrors) {
  const form = useRef<HTMLFormElement>(null);
  useEffect(() => {
    form.current?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
  }, [errors]);
  return form;
}

/**
 * A labelled input with its error (or hint) underneath. The input (the one
 * child element) gets `aria-invalid` while there is an error and
 * `aria-describedby` pointing at the error or the hint.
 */
export function Field({
  label,
  name,
  error,
  hint,
  children,
}: {
  label: string;
  name: string;
  error?: string | undefined;
  hint?: string;
  children: ReactNode;
}) {
  const errorId = `${name}-error`;
  const hintId = `${name}-hint`;
  const describedBy = error ? errorId : hint ? hintId : undefined;
  const input = isValidElement(children)
    ? cloneElement(children as ReactElement<{ "aria-invalid"?: boolean; "aria-describedby"?: string }>, {
        "aria-invalid": error ? true : undefined,
        "aria-describedby": describedBy,
      })
    : children;
  return (
    <div className={error ? "field field--invalid" : "field"}>
      <label htmlFor={name}>{label}</label>
      {input}
      {error ? (
        <p className="field__error" id={errorId} data-testid={`error-${name}`} role="alert">
          {error}
        </p>
      ) : hint ? (
        <p className="field__hint" id={hintId}>{hint}</p>
      ) : null}
    </div>
  );
}

export function FormError({ message }: { message?: string | undefined }) {
  if (!message) return null;
  return (
    <p className="form__error" role="alert" data-testid="form-error">
      {message}
    </p>
  );
}
