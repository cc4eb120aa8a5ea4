import type { Logger } from "../../src/log.ts";

/** A logger that drops every line, for tests that do not look at logs. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
