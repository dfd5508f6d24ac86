import {
  configureSync,
  getJsonLinesFormatter,
  type LogLevel,
  type LogRecord,
  type Sink,
  type TextFormatter,
} from "@logtape/logtape";
import { redactByField, redactByPattern, type RedactionPattern } from "@logtape/redaction";

/** Log levels accepted by `--log-level`, quietest last. */
export const LOG_LEVELS: readonly LogLevel[] = [
  "trace",
  "debug",
  "info",
  "warning",
  "error",
  "fatal",
];

/** Log formats accepted by `--log-format`. */
export const LOG_FORMATS = ["text", "json"] as const;

/** A log format name. */
export type LogFormat = typeof LOG_FORMATS[number];

const REDACTED = "[REDACTED]";

/** Secrets that can appear inside free text: GitHub tokens, bearer values, JWTs, PEM keys. */
export const SECRET_PATTERNS: readonly RedactionPattern[] = [
  {
    pattern: /\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})\b/g,
    replacement: REDACTED,
  },
  { pattern: /\b(Bearer|token)(\s+)[A-Za-z0-9._~+/=-]{8,}/gi, replacement: `$1$2${REDACTED}` },
  { pattern: /\beyJ[\w-]+\.[\w-]+\.[\w-]+/g, replacement: REDACTED },
  {
    pattern: /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)/g,
    replacement: REDACTED,
  },
];

/** Names of log properties whose values are secrets whatever they look like. */
export const SECRET_FIELDS: readonly RegExp[] = [
  /token/i,
  /secret/i,
  /passw(?:or)?d/i,
  /passphrase/i,
  /jit_?config/i,
  /authorization/i,
  /private_?key/i,
  /credential/i,
];

/** Replaces every secret-shaped part of a text; used by the logger and for printed errors. */
export function redactSecrets(text: string): string {
  return SECRET_PATTERNS.reduce(
    (out, { pattern, replacement }) =>
      out.replaceAll(pattern, replacement as (substring: string, ...args: unknown[]) => string),
    text,
  );
}

/** The human format: `[2025-11-02 14:30:00] INFO: message key=value`, in local time. */
export const humanFormatter: TextFormatter = (record: LogRecord) => {
  const message = record.message.map((part, i) => i % 2 === 0 ? String(part) : show(part)).join("");
  const placeholders = typeof record.rawMessage === "string"
    ? new Set([...record.rawMessage.matchAll(/\{(\w+)\}/g)].map((m) => m[1]))
    : new Set<string>();
  const extra = Object.entries(record.properties)
    .filter(([key]) => !placeholders.has(key))
    .map(([key, value]) => ` ${key}=${show(value)}`)
    .join("");
  return `[${
    localTimestamp(record.timestamp)
  }] ${record.level.toUpperCase()}: ${message}${extra}\n`;
};

function show(value: unknown): string {
  if (typeof value === "string") return value;
  if (value instanceof Error) return value.message;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function localTimestamp(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Where log lines go; the default writes to stderr, keeping stdout for command output. */
export type LogWriter = (line: string) => void;

const encoder = new TextEncoder();

/** Writes a line to stderr synchronously, so nothing is lost when `main` exits. */
export const writeStderr: LogWriter = (line) => {
  let bytes = encoder.encode(line);
  while (bytes.length > 0) bytes = bytes.subarray(Deno.stderr.writeSync(bytes));
};

/** Sets up LogTape for the `autoscaler` category: level, format, and redaction of secrets. */
export function setupLogging(
  options: { level: LogLevel; format: LogFormat; write?: LogWriter },
): void {
  const base = options.format === "json" ? getJsonLinesFormatter() : humanFormatter;
  const formatter = redactByPattern(base, SECRET_PATTERNS);
  const write = options.write ?? writeStderr;
  const sink: Sink = redactByField((record) => write(formatter(record)), {
    fieldPatterns: [...SECRET_FIELDS],
    action: () => REDACTED,
  });
  configureSync({
    reset: true,
    sinks: { main: sink },
    loggers: [
      { category: ["autoscaler"], lowestLevel: options.level, sinks: ["main"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["main"] },
    ],
  });
}
