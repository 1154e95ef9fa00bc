/**
 * A tiny structured logger: one JSON line per event on stderr (or a given stream).
 * Privacy rule enforced here, not by convention: typed arrays, Buffers and ArrayBuffers are never
 * serialised (they would be audio or key material); they are replaced by their byte length.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(bindings: Record<string, unknown>): Logger;
  setLevel(level: LogLevel): void;
  readonly level: LogLevel;
}

export interface LogWriter {
  write(line: string): unknown;
}

function scrub(_key: string, value: unknown): unknown {
  if (ArrayBuffer.isView(value)) return `[${value.byteLength} bytes redacted]`;
  if (value instanceof ArrayBuffer) return `[${value.byteLength} bytes redacted]`;
  if (value instanceof Error) return { name: value.name, message: value.message, code: (value as { code?: unknown }).code };
  return value;
}

export function createLogger(opts: { level?: LogLevel; out?: LogWriter; bindings?: Record<string, unknown>; now?: () => number } = {}): Logger {
  const state = { level: opts.level ?? 'info' };
  const out = opts.out ?? process.stderr;
  const now = opts.now ?? Date.now;
  const make = (bindings: Record<string, unknown>): Logger => {
    const emit = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => {
      if (ORDER[level] < ORDER[state.level]) return;
      const rec = { t: new Date(now()).toISOString(), level, msg, ...bindings, ...fields };
      out.write(JSON.stringify(rec, scrub) + '\n');
    };
    return {
      debug: (m, f) => emit('debug', m, f),
      info: (m, f) => emit('info', m, f),
      warn: (m, f) => emit('warn', m, f),
      error: (m, f) => emit('error', m, f),
      child: (b) => make({ ...bindings, ...b }),
      setLevel: (l) => {
        state.level = l;
      },
      get level() {
        return state.level;
      },
    };
  };
  return make(opts.bindings ?? {});
}

export const silentLogger: Logger = createLogger({ level: 'silent' });
