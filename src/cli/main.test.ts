import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { parseVmConfig } from "../vm/config.js";
import { ExitCode } from "./errors.js";
import { captureIo } from "./io.js";
import { main } from "./main.js";

const MAIN = fileURLToPath(new URL("./main.js", import.meta.url));
const PACKAGE_JSON = fileURLToPath(new URL("../../../package.json", import.meta.url));

let dir = "";
let kernel = "";
before(() => {
  dir = mkdtempSync(join(tmpdir(), "tsvmm-main-test-"));
  kernel = join(dir, "bzImage");
  writeFileSync(kernel, "x");
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function tsvmm(...argv: string[]) {
  const io = captureIo();
  const code = await main(argv, io);
  return { code, out: io.out, err: io.err };
}

// The promise users get: exit 2, and stderr is exactly one line naming the culprit.
async function expectUsage(argv: string[], names: string): Promise<string> {
  const { code, out, err } = await tsvmm(...argv);
  assert.equal(code, ExitCode.Usage, `exit code for ${argv.join(" ")}: stderr ${err}`);
  assert.equal(out, "");
  assert.match(err, /^tsvmm: [^\n]+\n$/, "stderr must be exactly one line");
  assert.ok(err.includes(names), `stderr should name ${names}: ${err}`);
  return err;
}

describe("main: bad input exits 2 with one line", () => {
  it("memory 0", async () => {
    const err = await expectUsage(["run", "--memory", "0"], "--memory");
    assert.equal(err, 'tsvmm: --memory: "0" is not a valid size (expected a positive size such as 512M or 2G)\n');
  });
  it("negative cpu count", async () => {
    await expectUsage(["run", "--cpus", "-1"], "--cpus");
  });
  it("negative cpu count, = form", async () => {
    await expectUsage(["run", "--cpus=-2"], "--cpus");
  });
  it("unknown accel", async () => {
    await expectUsage(["run", "--accel", "hvf"], "--accel");
  });
  it("malformed comma options", async () => {
    await expectUsage(["run", "--disk", "a.img,,readonly"], "--disk");
    await expectUsage(["run", "--disk", "a.img,=raw"], "--disk");
    await expectUsage(["run", "--net", "user,restrict,restrict"], "--net");
    await expectUsage(["run", "--serial", "file="], "--serial");
  });
  it("unknown flag", async () => {
    await expectUsage(["run", "--frobnicate"], "--frobnicate");
  });
  it("unknown flag with a suggestion stays on one line", async () => {
    await expectUsage(["run", "--memroy", "1G"], "--memroy");
  });
  it("missing kernel file", async () => {
    const err = await expectUsage(["run", "--kernel", "/x/y"], "--kernel");
    assert.equal(err, "tsvmm: --kernel: /x/y: no such file\n");
  });
  it("malformed --config JSON", async () => {
    const file = join(dir, "broken.json");
    writeFileSync(file, "{ memory: 1 }");
    const err = await expectUsage(["run", "--config", file], "--config");
    assert.ok(err.includes(file) && err.includes("malformed JSON"));
  });
  it("unknown key in --config", async () => {
    const file = join(dir, "typo.json");
    writeFileSync(file, JSON.stringify({ memory: 2 ** 30, disks: [{ path: kernel, fromat: "raw" }] }));
    const err = await expectUsage(["run", "--config", file], "--config");
    assert.ok(err.includes("disks[0].fromat: unknown key"), err);
  });
  it("unknown subcommand, missing subcommand, missing argument, extra argument", async () => {
    await expectUsage(["frob"], "frob");
    await expectUsage([], "tsvmm --help");
    await expectUsage(["disk"], "tsvmm disk");
    await expectUsage(["disk", "info"], "FILE");
    await expectUsage(["run", "extra"], "run");
    await expectUsage(["serve"], "--api-socket");
    await expectUsage(["guest", "frob"], "guest");
  });
  it("bad disk create arguments", async () => {
    await expectUsage(["disk", "create", join(dir, "new.img"), "0"], "SIZE");
    await expectUsage(["disk", "create", "--format", "vmdk", join(dir, "new.img"), "1G"], "--format");
    await expectUsage(["disk", "create", join(dir, "new.img"), "1000B"], "SIZE");
    await expectUsage(["disk", "create", kernel, "1G"], "already exists");
    await expectUsage(["disk", "create", join(dir, "no", "new.img"), "1G"], "no such directory");
    await expectUsage(["disk", "info", join(dir, "none.img")], "no such file");
  });
});

describe("main: other outcomes", () => {
  it("--print-config prints JSON that parseVmConfig accepts, and exits 0", async () => {
    const { code, out, err } = await tsvmm(
      "run", "--kernel", kernel, "--memory", "1G", "--cpus", "2", "--net", "user,hostfwd=tcp::8080-:80",
      "--serial", "socket=/tmp/tsvmm.sock", "--no-reboot", "--print-config",
    );
    assert.equal(code, 0, err);
    assert.equal(err, "");
    const printed: unknown = JSON.parse(out);
    assert.deepEqual(parseVmConfig(printed), printed);
    assert.equal((printed as { memory: number }).memory, 2 ** 30);
    assert.equal((printed as { noReboot: boolean }).noReboot, true);
  });

  it("run with a file that is not a kernel exits 2 with one line naming it", async () => {
    const { code, err } = await tsvmm("run", "--accel", "emu", "--kernel", kernel);
    assert.equal(code, ExitCode.Usage, err);
    assert.match(err, /^tsvmm: [^\n]*not a Linux kernel[^\n]*\n$/);
  });

  it("run --accel kvm without a usable KVM backend exits 2 with one line", async () => {
    const { code, err } = await tsvmm("run", "--accel", "kvm", "--kernel", kernel);
    assert.equal(code, ExitCode.Usage, err);
    assert.match(err, /^tsvmm: --accel kvm: [^\n]*use --accel emu[^\n]*\n$/);
  });

  it("ctl: a wrong verb or arity exits 2, an unreachable VMM 3, each with one line", async () => {
    let r = await tsvmm("ctl", join(dir, "vm.sock"), "explode");
    assert.equal(r.code, ExitCode.Usage, r.err);
    assert.match(r.err, /^tsvmm: ctl: "explode" is not a verb \(expected one of describe, [^\n]*\)\n$/);
    r = await tsvmm("ctl", join(dir, "vm.sock"), "snapshot", "--path", "x");
    assert.equal(r.code, ExitCode.Usage, r.err);
    assert.match(r.err, /^tsvmm: ctl snapshot: expected 1 argument [^\n]*\n$/);
    r = await tsvmm("ctl", join(dir, "vm.sock"), "pause");
    assert.equal(r.code, ExitCode.VmmFailure, r.err);
    assert.match(r.err, /^tsvmm: ctl pause: cannot reach the VMM: [^\n]*no such socket[^\n]*\n$/);
  });

  it("run --print-schema prints the JSON Schema of the config and exits 0", async () => {
    const { code, out, err } = await tsvmm("run", "--print-schema");
    assert.equal(code, 0, err);
    const schema = JSON.parse(out) as { type: string; properties: Record<string, unknown>; additionalProperties: boolean };
    assert.equal(schema.type, "object");
    assert.ok("memory" in schema.properties && "disks" in schema.properties);
    assert.equal(schema.additionalProperties, false);
  });

  it("serve on a path that is not a socket exits 2 with one line", async () => {
    const { code, err } = await tsvmm("serve", "--api-socket", dir);
    assert.equal(code, ExitCode.Usage, err);
    assert.match(err, /^tsvmm: --api-socket: [^\n]*exists and is not a socket\n$/);
  });

  it("console on a socket that does not exist exits 2 with one line", async () => {
    const { code, err } = await tsvmm("console", join(dir, "no-such.sock"));
    assert.equal(code, ExitCode.Usage, err);
    assert.match(err, /^tsvmm: console: [^\n]*no such socket[^\n]*\n$/);
  });

  it("an internal error exits 3 with one line, and a stack only under TSVMM_DEBUG=1", async () => {
    const boom = { stdout: () => { throw new Error("boom\nsecond line"); }, err: "", stderr(text: string) { this.err += text; } };
    const saved = process.env.TSVMM_DEBUG;
    try {
      delete process.env.TSVMM_DEBUG;
      assert.equal(await main(["run", "--print-config"], boom), ExitCode.VmmFailure);
      assert.equal(boom.err, "tsvmm: internal error: boom second line\n");
      boom.err = "";
      process.env.TSVMM_DEBUG = "1";
      assert.equal(await main(["run", "--print-config"], boom), ExitCode.VmmFailure);
      assert.match(boom.err, /^tsvmm: internal error: boom second line\nError: boom\n/);
    } finally {
      if (saved === undefined) delete process.env.TSVMM_DEBUG;
      else process.env.TSVMM_DEBUG = saved;
    }
  });

  it("`help COMMAND` is help, not an error", async () => {
    const { code, out } = await tsvmm("help", "disk");
    assert.equal(code, 0);
    assert.match(out, /Usage: tsvmm disk/);
  });

  it("--help and --version go to stdout and exit 0", async () => {
    const help = await tsvmm("--help");
    assert.equal(help.code, 0);
    assert.match(help.out, /Usage: tsvmm/);
    for (const sub of ["run", "serve", "guest", "disk", "ctl", "console"]) assert.match(help.out, new RegExp(`\\n  ${sub}\\b`));
    const runHelp = await tsvmm("run", "--help");
    assert.match(runHelp.out, /--memory <SIZE>/);
    const version = await tsvmm("--version");
    assert.equal(version.code, 0);
    assert.equal(version.out.trim(), JSON.parse(readFileSync(PACKAGE_JSON, "utf8")).version);
  });
});

describe("the compiled entry point", () => {
  const node = (...args: string[]) => spawnSync(process.execPath, [MAIN, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

  it("prints the version", () => {
    const r = node("--version");
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `${JSON.parse(readFileSync(PACKAGE_JSON, "utf8")).version}\n`);
  });

  it("prints help", () => {
    const r = node("--help");
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^Usage: tsvmm /);
  });

  it("passes exit code 2 and one line to the shell for run --memory 0", () => {
    const r = node("run", "--memory", "0");
    assert.equal(r.status, 2);
    assert.equal(r.stdout, "");
    assert.equal(r.stderr, 'tsvmm: --memory: "0" is not a valid size (expected a positive size such as 512M or 2G)\n');
  });
});
