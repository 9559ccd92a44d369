/**
 * Production configuration: which Kafka, Redis, S3 and PostgreSQL to use.
 *
 * Each setting is read from, in order of precedence: flags > environment >
 * config file > defaults. Flags and config-file keys may be spelled as the
 * variable (`KAFKA_BROKERS`) or as the flag (`kafka-brokers`). Present values
 * are checked when the configuration is loaded; a missing setting is an error
 * only when the service that needs it is asked for, so a job that uses no
 * PostgreSQL runs without `DATABASE_URL`. Errors name the variable and where
 * the value came from, and never show a secret.
 *
 * @example
 * ```ts
 * const config = loadConfig({ flags: { "redis-url": "redis://127.0.0.1:6379" } });
 * const { url } = config.redis();
 * ```
 *
 * @module
 */

/** Every setting production reads. */
export const CONFIG_VARIABLES = [
  "KAFKA_BROKERS",
  "REDIS_URL",
  "S3_ENDPOINT",
  "S3_BUCKET",
  "S3_REGION",
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "DATABASE_URL",
] as const;

/** A setting's variable name. */
export type ConfigVariable = typeof CONFIG_VARIABLES[number];

/** Where a setting's value came from, from strongest to weakest. */
export type ConfigSource = "flag" | "environment" | "config file" | "default";

/** Settings with a default; the defaults match `scripts/services.sh`. */
export const CONFIG_DEFAULTS: Readonly<
  Partial<Record<ConfigVariable, string>>
> = {
  KAFKA_BROKERS: "127.0.0.1:9092",
  REDIS_URL: "redis://127.0.0.1:6379",
  S3_ENDPOINT: "http://127.0.0.1:9000",
  S3_BUCKET: "freshet",
  S3_REGION: "us-east-1",
};

/** Where {@linkcode loadConfig} reads settings from. */
export interface ConfigInputs {
  /** Command-line flags, by flag or variable name. Default: none. */
  flags?: Record<string, string | undefined>;
  /**
   * Environment lookup; an empty value counts as unset.
   * Default: `Deno.env.get` (needs `--allow-env`).
   */
  env?:
    | Record<string, string | undefined>
    | ((name: string) => string | undefined);
  /** Parsed config file (see {@linkcode parseConfigFile}). Default: none. */
  file?: Record<string, string>;
  /** Default: {@linkcode CONFIG_DEFAULTS}. */
  defaults?: Partial<Record<ConfigVariable, string>>;
}

/** Kafka connection settings. */
export interface KafkaConfig {
  /** Broker addresses as `host:port`, from the comma-separated `KAFKA_BROKERS`. */
  brokers: string[];
}

/** Redis connection settings. */
export interface RedisConfig {
  /** May hold a password: show it only through {@linkcode redact}. */
  url: string;
}

/** S3 connection settings. */
export interface S3Config {
  /** `S3_ENDPOINT`: the server's URL; requests use path-style addressing. */
  endpoint: string;
  /** `S3_BUCKET`: where outputs and checkpoints go. */
  bucket: string;
  /** `S3_REGION`: any string a local server accepts. */
  region: string;
  /** `AWS_ACCESS_KEY_ID`; secret: never logged. */
  accessKeyId: string;
  /** `AWS_SECRET_ACCESS_KEY`; secret: never logged. */
  secretAccessKey: string;
}

/** PostgreSQL connection settings. */
export interface PostgresConfig {
  /** May hold a password: show it only through {@linkcode redact}. */
  url: string;
}

/** Loaded configuration; each service's settings are checked for presence on access. */
export interface Config {
  /** Kafka's settings; throws {@linkcode ConfigError} when `KAFKA_BROKERS` is not set. */
  kafka(): KafkaConfig;
  /** Redis's settings; throws {@linkcode ConfigError} when `REDIS_URL` is not set. */
  redis(): RedisConfig;
  /** S3's settings; throws {@linkcode ConfigError} naming the first of them not set. */
  s3(): S3Config;
  /** PostgreSQL's settings; throws {@linkcode ConfigError} when `DATABASE_URL` is not set. */
  postgres(): PostgresConfig;
  /** Every setting as `"<shown value> (<source>)"`, secrets masked; for logs. */
  describe(): Record<ConfigVariable, string>;
}

/** A missing or malformed setting. The message never holds a secret. */
export class ConfigError extends Error {
  /** The setting at fault. */
  readonly variable: string;

  /** `variable` names the setting (or the config file) at fault; `message` must hold no secret. */
  constructor(variable: string, message: string) {
    super(message);
    this.name = "ConfigError";
    this.variable = variable;
  }
}

/** Settings whose whole value is secret. */
const SECRET_VARIABLES: ReadonlySet<ConfigVariable> = new Set([
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
]);

/** Settings that are URLs and may carry a password. */
const URL_VARIABLES: ReadonlySet<ConfigVariable> = new Set([
  "REDIS_URL",
  "DATABASE_URL",
]);

/** `KAFKA_BROKERS` → `kafka-brokers`. */
export function flagName(variable: ConfigVariable): string {
  return variable.toLowerCase().replaceAll("_", "-");
}

/**
 * Returns `url` with its password replaced by `***`; a value that does not
 * parse as a URL loses everything before its last `@`. Comma-separated lists
 * are redacted item by item.
 */
export function redact(url: string): string {
  const whole = redactUrl(url);
  if (whole !== undefined) return whole;
  return url.split(",").map((item) => redactUrl(item) ?? redactText(item)).join(
    ",",
  );
}

/** Redacted `text` when it parses as a URL with a host; otherwise undefined. */
function redactUrl(text: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    return undefined;
  }
  // "user:secret@host" parses too, as an opaque URL of scheme "user:".
  if (parsed.host === "") return undefined;
  if (!parsed.password) return text;
  parsed.password = "***";
  return parsed.href;
}

function redactText(text: string): string {
  const at = text.lastIndexOf("@");
  if (at === -1) return text;
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(text)?.[0] ?? "";
  return `${scheme}***${text.slice(at)}`;
}

/** Reads settings from every source, checks the ones present, and returns them. */
export function loadConfig(inputs: ConfigInputs = {}): Config {
  const settings = resolveSettings(inputs);
  for (const [variable, setting] of settings) checkSetting(variable, setting);

  const need = (variable: ConfigVariable, service: string): string => {
    const setting = settings.get(variable);
    if (setting === undefined) {
      throw new ConfigError(
        variable,
        `Cannot configure ${service} as '${variable}' is not set: set the environment variable ${variable}, the flag --${
          flagName(variable)
        }, or the key "${variable}" in the config file`,
      );
    }
    return setting.value;
  };

  return {
    kafka: () => ({ brokers: splitBrokers(need("KAFKA_BROKERS", "Kafka")) }),
    redis: () => ({ url: need("REDIS_URL", "Redis") }),
    s3: () => ({
      endpoint: need("S3_ENDPOINT", "S3"),
      bucket: need("S3_BUCKET", "S3"),
      region: need("S3_REGION", "S3"),
      accessKeyId: need("AWS_ACCESS_KEY_ID", "S3"),
      secretAccessKey: need("AWS_SECRET_ACCESS_KEY", "S3"),
    }),
    postgres: () => ({ url: need("DATABASE_URL", "PostgreSQL") }),
    describe: () => {
      const shown = {} as Record<ConfigVariable, string>;
      for (const variable of CONFIG_VARIABLES) {
        const setting = settings.get(variable);
        shown[variable] = setting === undefined
          ? "(not set)"
          : `${show(variable, setting.value)} (${setting.source})`;
      }
      return shown;
    },
  };
}

/**
 * Parses a config file: a JSON object of settings by variable or flag name,
 * string values. Unknown keys are errors, so a typo does not go unnoticed.
 */
export function parseConfigFile(
  text: string,
  path: string,
): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(
      path,
      `Cannot read config file ${path} as it must be JSON: ${
        (error as Error).message
      }`,
    );
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(
      path,
      `Cannot read config file ${path} as it must hold a JSON object`,
    );
  }
  const settings: Record<string, string> = {};
  for (const [name, value] of Object.entries(parsed)) {
    const variable = variableOf(name);
    if (variable === undefined) {
      throw new ConfigError(
        name,
        `Cannot read config file ${path} as '${name}' is not a known setting: known settings are ${
          CONFIG_VARIABLES.join(", ")
        }`,
      );
    }
    if (typeof value !== "string") {
      throw new ConfigError(
        variable,
        `Cannot read config file ${path} as '${variable}' must be a string: current value is a ${typeof value}`,
      );
    }
    settings[variable] = value;
  }
  return settings;
}

/** Reads and parses a config file (see {@linkcode parseConfigFile}). */
export async function readConfigFile(
  path: string,
): Promise<Record<string, string>> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new ConfigError(
      path,
      `Cannot read config file ${path}: ${(error as Error).message}`,
    );
  }
  return parseConfigFile(text, path);
}

interface Setting {
  value: string;
  source: ConfigSource;
}

function resolveSettings(inputs: ConfigInputs): Map<ConfigVariable, Setting> {
  const flags = byVariable(inputs.flags ?? {}, "flag");
  const file = byVariable(inputs.file ?? {}, "config file");
  const defaults = inputs.defaults ?? CONFIG_DEFAULTS;
  const env = inputs.env ?? ((name: string) => Deno.env.get(name));
  const fromEnv = typeof env === "function" ? env : (name: string) => env[name];

  const settings = new Map<ConfigVariable, Setting>();
  for (const variable of CONFIG_VARIABLES) {
    const candidates: Array<[string | undefined, ConfigSource]> = [
      [flags.get(variable), "flag"],
      [fromEnv(variable), "environment"],
      [file.get(variable), "config file"],
      [defaults[variable], "default"],
    ];
    for (const [value, source] of candidates) {
      if (value !== undefined && value.trim() !== "") {
        settings.set(variable, { value: value.trim(), source });
        break;
      }
    }
  }
  return settings;
}

function byVariable(
  values: Record<string, string | undefined>,
  source: ConfigSource,
): Map<ConfigVariable, string | undefined> {
  const out = new Map<ConfigVariable, string | undefined>();
  for (const [name, value] of Object.entries(values)) {
    const variable = variableOf(name);
    if (variable === undefined) {
      throw new ConfigError(
        name,
        `Cannot read ${source} '${name}' as it is not a known setting: known settings are ${
          CONFIG_VARIABLES.join(", ")
        }`,
      );
    }
    out.set(variable, value);
  }
  return out;
}

function variableOf(name: string): ConfigVariable | undefined {
  const normalized = name.replace(/^--/, "").toUpperCase().replaceAll("-", "_");
  return (CONFIG_VARIABLES as readonly string[]).includes(normalized)
    ? normalized as ConfigVariable
    : undefined;
}

function show(variable: ConfigVariable, value: string): string {
  if (SECRET_VARIABLES.has(variable)) return "***";
  if (URL_VARIABLES.has(variable)) return redact(value);
  return value;
}

function checkSetting(
  variable: ConfigVariable,
  { value, source }: Setting,
): void {
  const fail = (rule: string): never => {
    throw new ConfigError(
      variable,
      `Cannot use '${variable}' (from ${source}) as it must be ${rule}: current value is ${
        JSON.stringify(show(variable, value))
      }`,
    );
  };
  switch (variable) {
    case "KAFKA_BROKERS":
      if (!splitBrokers(value).every(isHostPort)) {
        fail("a comma-separated list of host:port");
      }
      break;
    case "REDIS_URL":
      if (!hasProtocol(value, ["redis:", "rediss:"])) {
        fail("a redis:// or rediss:// URL");
      }
      break;
    case "DATABASE_URL":
      if (!hasProtocol(value, ["postgres:", "postgresql:"])) {
        fail("a postgres:// or postgresql:// URL");
      }
      break;
    case "S3_ENDPOINT":
      if (!hasProtocol(value, ["http:", "https:"])) {
        fail("an http:// or https:// URL");
      }
      break;
    case "S3_BUCKET":
      if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(value)) {
        fail("an S3 bucket name (3-63 lowercase letters, digits, '.' or '-')");
      }
      break;
    case "S3_REGION":
      if (!/^[a-z0-9-]+$/.test(value)) fail("a region name such as us-east-1");
      break;
    case "AWS_ACCESS_KEY_ID":
    case "AWS_SECRET_ACCESS_KEY":
      if (/\s/.test(value)) fail("free of whitespace");
      break;
  }
}

function splitBrokers(value: string): string[] {
  return value.split(",").map((broker) => broker.trim());
}

function isHostPort(broker: string): boolean {
  const match = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(broker);
  if (match === null) return false;
  const port = Number(match[2]);
  return port >= 1 && port <= 65535;
}

function hasProtocol(value: string, protocols: string[]): boolean {
  try {
    const url = new URL(value);
    return protocols.includes(url.protocol) && url.hostname !== "";
  } catch {
    return false;
  }
}
