/**
 * Puts kernel modules in an order insmod can follow: every module after the
 * modules its depends= field names. Cycles and missing dependencies end in a
 * report, never a loop, and leave out only the modules they affect.
 */
import type { KernelModule } from "./modinfo.js";

/** What to load, in order, and what could not be placed. */
export interface ModuleOrder<M extends KernelModule = KernelModule> {
  /** Modules to load (the objects given), each after all of its dependencies. */
  readonly order: readonly M[];
  /** Wanted modules the kernel does not have at all (wanted "if present"). */
  readonly absent: readonly string[];
  /** Modules that cannot be loaded because of a problem below them. */
  readonly excluded: readonly string[];
  /** One sentence per root cause: a dependency cycle, a dependency the kernel lacks, a duplicate name. */
  readonly problems: readonly string[];
}

type State = "visiting" | "done" | "broken";

/** Orders the wanted modules and everything they depend on, dependencies first, wanted order kept where free. */
export function moduleLoadOrder<M extends KernelModule>(wanted: readonly string[], modules: Iterable<M>): ModuleOrder<M> {
  const byName = new Map<string, M>();
  const problems: string[] = [];
  for (const m of modules) {
    const other = byName.get(m.name);
    if (other !== undefined) problems.push(`two modules are named ${m.name}: ${other.path} and ${m.path} (using the first)`);
    else byName.set(m.name, m);
  }

  const state = new Map<string, State>();
  const order: M[] = [];
  const stack: string[] = [];

  const visit = (name: string): "ok" | "missing" | "broken" => {
    const module = byName.get(name);
    if (module === undefined) return "missing";
    const seen = state.get(name);
    if (seen === "done") return "ok";
    if (seen === "broken") return "broken";
    if (seen === "visiting") {
      // Every module on the path from the first `name` back to here is in the cycle; each
      // of them sees this "broken" on its way out and is left out too.
      problems.push(`dependency cycle: ${[...stack.slice(stack.indexOf(name)), name].join(" -> ")}`);
      return "broken";
    }
    state.set(name, "visiting");
    stack.push(name);
    let broken = false;
    for (const dep of module.depends) {
      const r = visit(dep);
      if (r === "missing") problems.push(`${name} depends on ${dep}, which the kernel package does not have`);
      if (r !== "ok") broken = true;
    }
    stack.pop();
    state.set(name, broken ? "broken" : "done");
    if (!broken) order.push(module);
    return broken ? "broken" : "ok";
  };

  const absent: string[] = [];
  for (const raw of wanted) {
    const name = raw.replace(/-/g, "_");
    if (visit(name) === "missing") absent.push(name);
  }
  const excluded = [...state].filter(([, s]) => s === "broken").map(([n]) => n);
  return { order, absent, excluded, problems: [...new Set(problems)] };
}
