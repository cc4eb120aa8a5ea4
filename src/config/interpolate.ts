// `${NAME}` and `${NAME:-default}` in string values; `$${` writes a literal `${`.

export interface Interpolated {
  value: string;
  /** True when the text held a reference or an escape, i.e. `value` differs from what was written. */
  changed: boolean;
  /** Variables that are unset and have no default (each becomes an issue; `value` has "" in their place). */
  missing: string[];
  /** Malformed references. */
  errors: string[];
}

const REFERENCE = /^([A-Za-z_][A-Za-z0-9_]*)(?::-([\s\S]*))?$/;

/** Like the shell: the default applies when the variable is unset or empty; a default cannot contain "}". */
export function interpolate(text: string, env: Record<string, string | undefined>): Interpolated {
  const result: Interpolated = { value: "", changed: false, missing: [], errors: [] };
  let out = "";
  let i = 0;
  while (i < text.length) {
    const dollar = text.indexOf("$", i);
    if (dollar < 0) {
      out += text.slice(i);
      break;
    }
    out += text.slice(i, dollar);
    if (text.startsWith("$${", dollar)) {
      out += "${";
      i = dollar + 3;
      result.changed = true;
      continue;
    }
    if (!text.startsWith("${", dollar)) {
      out += "$";
      i = dollar + 1;
      continue;
    }
    result.changed = true;
    const close = text.indexOf("}", dollar + 2);
    if (close < 0) {
      result.errors.push('unterminated "${" (write "$${" for a literal "${")');
      out += text.slice(dollar);
      break;
    }
    const inner = text.slice(dollar + 2, close);
    const m = REFERENCE.exec(inner);
    if (!m) {
      result.errors.push(`invalid reference "\${${inner}}": use \${NAME} or \${NAME:-default} (write "$\${" for a literal "\${")`);
    } else {
      const [, name, fallback] = m;
      const value = env[name];
      if (fallback !== undefined && (value === undefined || value === "")) out += fallback;
      else if (value === undefined) result.missing.push(name);
      else out += value;
    }
    i = close + 1;
  }
  result.value = out;
  return result;
}
