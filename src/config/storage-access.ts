import { accessSync, constants, existsSync, statSync } from "node:fs";
import { basename, dirname, relative, resolve, sep } from "node:path";
import type { Config } from "./types.ts";

// Can this process create and write the SQLite file (and its -wal/-shm beside it)? Asked before opening it,
// because SQLite alone says only "unable to open database file".

/** Why `path` cannot be written by this process, naming the folder and the uid; undefined when it can. */
export function storageProblem(path: string): string | undefined {
  if (path === ":memory:") return undefined;
  const file = resolve(path);
  if (existsSync(file) && !writable(file)) return `${file} is ${refusal(file)}`;
  let folder = dirname(file);
  while (!existsSync(folder)) folder = dirname(folder);
  if (!statSync(folder).isDirectory()) return `${folder} is not a folder`;
  if (writable(folder)) return undefined;
  return `the folder ${folder} is ${refusal(folder)}`;
}

/** What `relay check` warns about the storage path; nothing stops the start there, but the database would. */
export function storageWarnings(config: Config): string[] {
  const path = config.storage.path;
  // storage.postgres replaces the file: its path is never opened.
  if (path === ":memory:" || config.storage.postgres) return [];
  const warnings: string[] = [];
  const problem = storageProblem(path);
  if (problem) warnings.push(`storage.path ${path}: ${problem}; Relay will not start with it`);
  const configFolder = config.file ? dirname(config.file) : "";
  // A folder made for configuration is mounted read-only in a container (/config) or owned by root (/etc).
  if (configFolder && isConfigFolder(configFolder) && inside(path, configFolder)) {
    warnings.push(
      `storage.path ${path} is in the config's folder ${configFolder} (a relative path is read from there), ` +
        "which a container mounts read-only: use an absolute path such as /data/relay.db, or set $RELAY_STORAGE_PATH",
    );
  }
  return warnings;
}

/** config/, relay-config/, conf.d/, /etc/…: a folder whose name says it holds configuration. */
export function isConfigFolder(folder: string): boolean {
  return /conf/i.test(basename(folder)) || folder === "/etc" || folder.startsWith("/etc/");
}

function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function refusal(path: string): string {
  try {
    accessSync(path, constants.W_OK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EROFS") return "on a read-only file system";
  }
  const st = statSync(path);
  const mode = (st.mode & 0o777).toString(8).padStart(3, "0");
  return `not writable for uid ${process.getuid?.() ?? "?"} (owner uid ${st.uid}, mode ${mode})`;
}

function inside(path: string, folder: string): boolean {
  const rel = relative(folder, resolve(path));
  return rel !== "" && !rel.startsWith(`..${sep}`) && rel !== ".." && !rel.startsWith(sep);
}
