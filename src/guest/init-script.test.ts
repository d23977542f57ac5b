import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { aptSource } from "./apt.js";
import { readDeb } from "./deb.js";
import { recipeDir } from "./recipe.js";

const INIT = join(recipeDir(), "init");
const PATH_LINE = "PATH=/sbin:/usr/sbin:/bin:/usr/bin";
const LIST_LINE = "MODULE_LIST=/etc/tsvmm/modules";
const ACPI_LINE = "ACPI_DIR=/etc/acpi";

let dir = "";
before(() => {
  dir = mkdtempSync(join(tmpdir(), "tsvmm-init-test-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

// A static busybox to check the script with the shell the guest really runs: the host's, or
// Debian's busybox-static fetched through apt. Undefined (with the reason) when neither works.
async function findBusybox(): Promise<{ path?: string; reason?: string }> {
  if (spawnSync("busybox", ["true"]).status === 0) return { path: "busybox" };
  if (spawnSync("apt-get", ["--version"]).status !== 0) return { reason: "no busybox and no apt-get to fetch busybox-static" };
  try {
    const [candidate] = await aptSource.candidates(["busybox-static"]);
    const [deb] = await aptSource.download([candidate!], dir);
    const { files } = await readDeb(readFileSync(deb!), (p) => p === "bin/busybox");
    const path = join(dir, "busybox");
    writeFileSync(path, files.get("bin/busybox")!.data, { mode: 0o755 });
    return { path };
  } catch (err) {
    return { reason: `no busybox, and apt could not fetch busybox-static: ${err instanceof Error ? err.message : String(err)}` };
  }
}

describe("guest/init: syntax", () => {
  it("passes sh -n with the host's POSIX shell", () => {
    const r = spawnSync("sh", ["-n", INIT], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
  });

  it("passes sh -n with busybox's shell, the one the guest runs", { timeout: 120_000 }, async (t) => {
    const bb = await findBusybox();
    if (bb.path === undefined) return t.skip(bb.reason);
    const r = spawnSync(bb.path, ["sh", "-n", INIT], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
  });

  it("starts with #!/bin/sh and prints the boot marker before running any command", () => {
    const text = readFileSync(INIT, "utf8");
    assert.ok(text.startsWith("#!/bin/sh\n"));
    const body = text.split("\n").filter((l) => l.trim() !== "" && !l.trim().startsWith("#"));
    assert.deepEqual(body.slice(0, 5), [PATH_LINE, LIST_LINE, ACPI_LINE, "export PATH", 'echo "tsvmm-guest: init started"']);
  });
});

// Busybox's ash runs its own applets whatever PATH says, so only a shell that is not busybox
// can run the script against stubs without touching the host.
const hostShellIsBusybox = spawnSync("sh", ["-c", 'test -n "${BB_ASH_VERSION:-}"']).status === 0;
const STUBS = ["busybox", "mount", "mkdir", "insmod", "hostname", "ip", "setsid", "uname", "sync", "poweroff", "sleep", "chmod", "acpid"];

// Runs a copy of guest/init whose PATH holds only logging stubs; poweroff kills the script,
// as the real one never returns. FAIL names stubs that exit 1. The power button handler is
// written under the run's own directory (ACPI_DIR), never the host's /etc.
function dryRun(fail: string, moduleList: string | undefined) {
  const run = mkdtempSync(join(dir, "run-"));
  const stubs = join(run, "stubs");
  mkdirSync(stubs);
  const log = join(run, "log");
  for (const name of STUBS) {
    const extra =
      name === "uname" ? 'echo 6.1.0-test\n' :
      name === "poweroff" ? 'kill -KILL "$PPID"\n' :
      name === "insmod" ? 'case "$1" in *broken*) echo "insmod: cannot insert $1" >&2; exit 1;; esac\n' : "";
    const stub = `#!/bin/sh\nprintf '%s\\n' "\${0##*/} $*" >>"$LOG"\ncase " $FAIL " in *" \${0##*/} "*) exit 1;; esac\n${extra}exit 0\n`;
    writeFileSync(join(stubs, name), stub);
    chmodSync(join(stubs, name), 0o755);
  }
  const list = join(run, "modules");
  const acpiDir = join(run, "acpi");
  mkdirSync(join(acpiDir, "PWRF"), { recursive: true });
  if (moduleList !== undefined) writeFileSync(list, moduleList);
  const text = readFileSync(INIT, "utf8");
  assert.equal(text.split(PATH_LINE).length, 2, "guest/init sets PATH exactly once, as the test expects");
  assert.equal(text.split(LIST_LINE).length, 2, "guest/init names its module list exactly once");
  assert.equal(text.split(ACPI_LINE).length, 2, "guest/init names its ACPI handler directory exactly once");
  const script = join(run, "init");
  writeFileSync(script, text.replace(PATH_LINE, `PATH=${stubs}`).replace(LIST_LINE, `MODULE_LIST=${list}`).replace(ACPI_LINE, `ACPI_DIR=${acpiDir}`));
  const r = spawnSync("/bin/sh", [script], { env: { LOG: log, FAIL: fail }, encoding: "utf8", timeout: 10_000 });
  const calls = readFileSync(log, "utf8").trim().split("\n").map((c) => c.trimEnd());
  return { ...r, calls, acpiDir };
}

describe("guest/init: a dry run against stubs", { skip: hostShellIsBusybox ? "the host's sh is busybox, which ignores PATH for its applets" : false }, () => {
  it("mounts, loads the modules in list order, starts the shell and powers off", () => {
    const list = "virtio_ring /lib/m/virtio_ring.ko\n\n# a comment\nbroken_mod /lib/m/broken.ko\nvirtio /lib/m/virtio.ko\n";
    const r = dryRun("", list);
    assert.equal(r.signal, "SIGKILL", `init ran until poweroff (stderr: ${r.stderr})`);
    const out = r.stdout.split("\n");
    assert.equal(out[0], "tsvmm-guest: init started");
    assert.ok(out.includes("tsvmm-guest: module broken_mod did not load; going on without it"), r.stdout);
    assert.ok(out.includes("tsvmm default guest: Linux 6.1.0-test and BusyBox"), r.stdout);
    assert.deepEqual(r.calls, [
      "busybox mount -t proc -o nosuid,nodev,noexec proc /proc",
      "busybox --install -s",
      "mount -t sysfs -o nosuid,nodev,noexec sysfs /sys",
      "mount -t devtmpfs -o nosuid,mode=0755 devtmpfs /dev",
      "mkdir -p /dev/pts",
      "mount -t devpts -o nosuid,noexec,mode=0620,ptmxmode=0666 devpts /dev/pts",
      "mount -t tmpfs -o nosuid,nodev,mode=0755 tmpfs /run",
      "mount -t tmpfs -o nosuid,nodev,mode=1777 tmpfs /tmp",
      "insmod /lib/m/virtio_ring.ko",
      "insmod /lib/m/broken.ko",
      "insmod /lib/m/virtio.ko",
      "hostname tsvmm",
      "ip link set lo up",
      `mkdir -p ${r.acpiDir}/PWRF`,
      `chmod 755 ${r.acpiDir}/PWRF/00000080`,
      `acpid -c ${r.acpiDir} -l /run/acpid.log -p /run/acpid.pid`,
      "uname -r",
      "setsid cttyhack sh",
      "sync",
      "poweroff -f",
    ]);
    // What busybox acpid runs for a power button press: a script that powers off.
    assert.equal(readFileSync(join(r.acpiDir, "PWRF", "00000080"), "utf8"), "#!/bin/sh\nsync\npoweroff -f\n");
  });

  it("keeps going when steps fail, and without a module list", () => {
    const r = dryRun("busybox mount mkdir hostname ip chmod acpid setsid", undefined);
    assert.equal(r.signal, "SIGKILL", `init ran until poweroff (stderr: ${r.stderr})`);
    for (const said of ["could not mount /proc", "could not install the busybox applet links", "could not mount /sys", "could not mount /tmp", "no module list at", "could not set the hostname", "could not bring up lo", "could not make the power button handler executable", "could not start acpid; the power button will do nothing", "the shell exited; powering off"]) {
      assert.ok(r.stdout.includes(`tsvmm-guest: ${said}`), `says "${said}": ${r.stdout}`);
    }
    assert.equal(r.calls.at(-1), "poweroff -f");
    assert.ok(!r.calls.some((c) => c.startsWith("insmod")));
  });
});
