import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, cpSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { basename, dirname, join, posix } from "node:path";
import { DockerfileParser, type Instruction } from "dockerfile-ast";
import { ASSETS } from "../../src/ui/assets.ts";
import { postJson, startRelayProcess } from "../support/process.ts";
import { rawRequest } from "../support/raw-http.ts";
import { startReceiver, type Receiver } from "../support/receiver.ts";
import { tempDir } from "../support/tmp.ts";

// The Dockerfile and `npm run build` must make the same binary; this file checks that they agree,
// then builds the binary the Dockerfile's way and runs it alone, with no node_modules and no Bun beside it.

const ROOT = join(import.meta.dir, "..", "..");
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
const lock = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8"));
const BUILD_SCRIPT: string = pkg.scripts.build;

interface Stage {
  name: string | null;
  image: string;
  tag: string | null;
  instructions: Instruction[];
}

function stagesOf(text: string): Stage[] {
  const stages: Stage[] = [];
  for (const instruction of DockerfileParser.parse(text).getInstructions()) {
    if (instruction.getKeyword() === "FROM") {
      const from = instruction as unknown as { getBuildStage(): string | null; getImageName(): string; getImageTag(): string | null };
      stages.push({ name: from.getBuildStage(), image: from.getImageName(), tag: from.getImageTag(), instructions: [] });
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  return stages;
}

const squash = (s: string) => s.replace(/\\\r?\n/g, " ").replace(/\s+/g, " ").trim();

/**
 * The one rule: a RUN that invokes the build script by name (`bun run build`, `npm run build`) stands for that
 * script; any other RUN stands for itself. The compiling RUN must then equal package.json's "build" verbatim.
 */
function normaliseRun(command: string): string {
  return /^(bun|npm) run build$/.test(command) ? BUILD_SCRIPT : command;
}

const all = (stage: Stage, keyword: string) => stage.instructions.filter((i) => i.getKeyword() === keyword);
const last = (stage: Stage, keyword: string) => all(stage, keyword).at(-1);
const content = (i: Instruction | undefined) => squash(i?.getArgumentsContent() ?? "");
const flag = (i: Instruction, name: string) =>
  (i as unknown as { getFlags(): Array<{ getName(): string; getValue(): string | null }> }).getFlags().find((f) => f.getName() === name)?.getValue();
const jsonArgs = (i: Instruction | undefined): string[] => JSON.parse(content(i));

const dockerfile = readFileSync(join(ROOT, "Dockerfile"), "utf8");
const stages = stagesOf(dockerfile);
const runStage = stages.at(-1)!;
const binaryCopy = all(runStage, "COPY").find((c) => flag(c, "from") && content(c).endsWith(jsonArgs(last(runStage, "ENTRYPOINT"))[0]!));
const buildStage = stages.find((s) => s.name !== null && s.name === (binaryCopy && flag(binaryCopy, "from")));
const compiles = (stage: Stage) => all(stage, "RUN").map((r) => normaliseRun(content(r))).filter((c) => c.includes("--compile"));
const env = Object.fromEntries(
  all(runStage, "ENV").flatMap((e) => (e as unknown as { getProperties(): Array<{ getName(): string; getValue(): string }> }).getProperties().map((p) => [p.getName(), p.getValue()])),
);

describe("Dockerfile", () => {
  test("the build stage compiles with exactly package.json's build script, once", () => {
    expect(buildStage).toBeDefined();
    expect(compiles(buildStage!)).toEqual([squash(BUILD_SCRIPT)]);
    for (const other of stages.filter((s) => s !== buildStage)) expect(compiles(other)).toEqual([]);
  });

  test("the build installs runtime dependencies only, through Bun's install cache, so a filled cache builds offline", () => {
    const installs = all(buildStage!, "RUN").filter((r) => content(r).includes("bun install"));
    expect(installs).toHaveLength(1);
    const install = content(installs[0]);
    const mount = flag(installs[0]!, "mount") ?? "";
    expect(mount.split(",")).toEqual(expect.arrayContaining(["type=cache", "target=/root/.bun/install/cache"]));
    // --omit=peer: TypeScript, a peer dependency of @elysiajs/openapi, is not needed to bundle.
    expect(install).toMatch(/bun install --frozen-lockfile --production --omit=peer$/);
    expect(lock.packages["node_modules/@elysiajs/openapi"].peerDependencies.typescript).toBeDefined();
  });

  test("the build image is the Bun that package-lock.json pins", () => {
    expect(buildStage!.image).toBe("oven/bun");
    expect(buildStage!.tag).toBe(lock.packages["node_modules/bun"].version);
    expect(Bun.semver.satisfies(buildStage!.tag!, pkg.devDependencies.bun)).toBe(true);
  });

  test("the run stage starts the built binary", () => {
    const outfile = BUILD_SCRIPT.match(/--outfile[= ](\S+)/)![1]!;
    const workdir = content(last(buildStage!, "WORKDIR")) || "/";
    const [source, destination] = content(binaryCopy).split(" ");
    expect(source).toBe(posix.join(workdir, outfile));
    expect(jsonArgs(last(runStage, "ENTRYPOINT"))).toEqual([destination!]);
    expect(jsonArgs(last(runStage, "CMD"))).toEqual(["serve"]);
    expect(content(last(runStage, "STOPSIGNAL"))).toBe("SIGTERM");
  });

  test("the run stage is non-root, with /data and /config volumes, the port exposed and a health check", () => {
    const user = content(last(runStage, "USER")).split(":")[0]!;
    expect(user).not.toBe("");
    expect(["root", "0"]).not.toContain(user);

    const volumes = all(runStage, "VOLUME").flatMap((v) => (content(v).startsWith("[") ? jsonArgs(v) : content(v).split(" ")));
    expect(volumes).toContain("/data");
    expect(volumes).toContain("/config");
    expect(env.RELAY_CONFIG).toBe("/config/relay.yaml");

    expect(env.RELAY_PORT).toMatch(/^\d+$/);
    const exposed = all(runStage, "EXPOSE").flatMap((e) => content(e).split(" ").map((p) => p.replace(/\/tcp$/, "")));
    expect(exposed).toContain(env.RELAY_PORT!);

    expect(healthcheck()[0]).toBe(jsonArgs(last(runStage, "ENTRYPOINT"))[0]!);
  });
});

/** The HEALTHCHECK's exec-form command. */
function healthcheck(): string[] {
  const check = last(runStage, "HEALTHCHECK");
  const text = content(check);
  expect(text.startsWith("CMD [")).toBe(true);
  return JSON.parse(text.slice("CMD".length));
}

describe("the binary, built the Dockerfile's way and run alone", () => {
  let build: ReturnType<typeof tempDir>;
  let alone: ReturnType<typeof tempDir>;
  let receiver: Receiver;
  let binary: string;
  let configPath: string;

  beforeAll(() => {
    build = tempDir("relay-build-");
    alone = tempDir("relay-alone-");
    receiver = startReceiver(() => new Response('{"status":"success"}'));
    if (!buildStage) return;

    // Recreate the build stage's context copies; the host's node_modules stands in for its install step.
    const workdir = content(last(buildStage, "WORKDIR")) || "/";
    for (const copy of all(buildStage, "COPY").filter((c) => !flag(c, "from"))) {
      const args = content(copy).split(" ");
      const dest = args.pop()!;
      const target = join(build.dir, posix.relative(workdir, posix.resolve(workdir, dest)));
      const intoFolder = dest.endsWith("/") || args.length > 1;
      for (const source of args) {
        const from = join(ROOT, source);
        if (statSync(from).isDirectory()) cpSync(from, target, { recursive: true });
        else {
          mkdirSync(intoFolder ? target : dirname(target), { recursive: true });
          copyFileSync(from, intoFolder ? join(target, basename(source)) : target);
        }
      }
    }
    symlinkSync(join(ROOT, "node_modules"), join(build.dir, "node_modules"));

    const command = compiles(buildStage)[0]!;
    expect(command).not.toMatch(/[;&|<>$`"']/); // run without a shell, as words
    const [program, ...args] = command.split(" ");
    expect(program).toBe("bun");
    // The Bun running this suite stands in for the image's (package-lock.json pins both).
    const compile = Bun.spawnSync([process.execPath, ...args], { cwd: build.dir, stdout: "pipe", stderr: "pipe" });
    if (compile.exitCode !== 0) throw new Error(`build failed:\n${compile.stdout}\n${compile.stderr}`);

    const outfile = join(build.dir, command.match(/--outfile[= ](\S+)/)![1]!);
    binary = join(alone.dir, "bin", "relay");
    mkdirSync(dirname(binary));
    copyFileSync(outfile, binary);
    // The config lives outside the binary's folder, as in the container (/config).
    configPath = join(alone.dir, "config", "relay.yaml");
    mkdirSync(dirname(configPath));
    writeFileSync(
      configPath,
      `
storage:
  path: ${join(alone.dir, "data", "relay.db")}
sources:
  shop:
    id: binary-test-shop
destinations:
  crm:
    url: ${receiver.url}/leads
    retry: [1s]
    ack: { body: '{"status":"success"}' }
routes:
  - from: shop
    to: crm
    transform:
      jsonata: '{"order": body.order.ref, "kind": event.type}'
`,
    );
  });

  afterAll(() => {
    receiver?.stop();
    build?.cleanup();
    alone?.cleanup();
  });

  // PATH leads nowhere, and the working directory holds only the binary: nothing to borrow.
  const bare = () => ({ PATH: join(alone.dir, "empty"), HOME: alone.dir });
  // startRelayProcess has no cwd option; `exec` keeps the relay's pid, so signals reach it directly.
  const inBinFolder = () => ["/bin/sh", "-c", 'cd "${0%/*}" && exec "$0" "$@"', binary];

  test("check validates the config", () => {
    const r = Bun.spawnSync([binary, "check", "--config", configPath], { cwd: dirname(binary), env: bare() });
    expect(r.stderr.toString()).toBe("");
    expect(r.exitCode).toBe(0);
    expect(r.stdout.toString()).toContain(`${configPath}: ok`);
  });

  test("serve ingests, delivers, reports healthy, passes the HEALTHCHECK and stops on SIGTERM", async () => {
    const relay = await startRelayProcess(configPath, bare(), inBinFolder());
    let stopped = false;
    try {
      const accepted = await postJson(`${relay.url}/api/webhook/binary-test-shop`, { type: "order.created", order: { ref: "A-17" } });
      expect(accepted.status).toBe(202);
      await receiver.waitFor(1, 10_000);
      expect(JSON.parse(receiver.received[0]!.body)).toEqual({ order: "A-17", kind: "order.created" });

      // Requests fetch() cannot send, from the binary too: no Host (HTTP/1.0), a malformed one.
      for (const request of ["GET /api/health HTTP/1.0\r\n\r\n", "GET /api/health HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n"]) {
        const answer = await rawRequest(Number(new URL(relay.url).port), request);
        expect(answer.status).toBe(400);
        expect(answer.body).toBe('{"error":"missing or malformed Host header","code":"bad_host"}');
      }

      const health = await fetch(`${relay.url}/api/health`);
      expect(health.status).toBe(200);
      expect(((await health.json()) as { status: string }).status).toBe("healthy");
      const doc = (await (await fetch(`${relay.url}/api/openapi`)).json()) as { paths: Record<string, unknown> };
      expect(doc.paths["/api/webhook"]).toBeDefined();
      // The viewer is inside the binary and needs nothing from elsewhere.
      const viewer = await fetch(`${relay.url}/api/docs`);
      expect(viewer.status).toBe(200);
      const page = await viewer.text();
      expect(page).toContain('fetch("openapi")');
      expect(page).not.toMatch(/(src|href)=["']?(https?:)?\/\//);
      // The dashboard's assets are compiled in: each is served byte for byte from the binary alone.
      for (const [name, asset] of Object.entries(ASSETS)) {
        const served = await fetch(`${relay.url}/ui/assets/${name}`);
        expect(served.status).toBe(200);
        expect(served.headers.get("content-type")).toBe(asset.type);
        expect(await served.text()).toBe(asset.body);
      }
      expect((await fetch(`${relay.url}/ui/sign-in`)).status).toBe(200);

      const port = new URL(relay.url).port;
      const [, ...checkArgs] = healthcheck();
      // The image's environment, with this config in place of /config/relay.yaml and the port the relay got.
      const runCheck = () => Bun.spawnSync([binary, ...checkArgs], { env: { ...bare(), ...env, RELAY_CONFIG: configPath, RELAY_PORT: port } }).exitCode;
      expect(runCheck()).toBe(0);

      stopped = true;
      expect(await relay.kill("SIGTERM")).toBe(0);
      expect(runCheck()).toBe(1);
    } finally {
      if (!stopped) await relay.kill("SIGKILL");
    }
  });
});
