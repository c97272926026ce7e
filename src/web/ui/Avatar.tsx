/** A round avatar with the person's initials on a colour derived from their id. */

// Each colour gives white initials at least 4.5:1 contrast (WCAG 1.4.3; checked by axe in e2e/).
const PALETTE = ["#4f46e5", "#077e9b", "#04855d", "#b06005", "#dc2626", "#7c3aed", "#d92776", "#2563eb", "#51820a"];

/** Stable colour per id, so a person keeps their colour everywhere. */
export function avatarColor(id: string): string {
  let hash = 0;
  for (let i = 0; i < id.length; i += 1) hash = (hash * 31 + id.charCodeAt(i)) | 0;
  return PALETTE[Math.abs(hash) % PALETTE.length] ?? "#4f46e5";
}

/** Up to two initials from a display name ("Ada Lovelace" → "AL", "ada_42" → "AD"). */
export function initialsOf(name: string): string {
  // Words that start with a digit ("_42" suffixes) make poor initials.
  const words = name.trim().split(/[\s._-]+/).filter((w) => /^\p{L}/u.test(w));
  const letters = words.length > 1 ? [words[0]![0], words[1]![0]] : [...(words[0] ?? "?").slice(0, 2)];
  return letters.join("").toUpperCase();
}

export function Avatar({ id, name, size = 32 }: { id: string; name: string; size?: number }) {
  return (
    <span
      className="avatar"
      aria-hidden="true"
      style={{ width: size, height: size, background: avatarColor(id), fontSize: Math.round(size * 0.4) }}
    >
      {initialsOf(name)}
    </span>
  );
}
