// The known library bugs: KNOWN (id → description, printed in the summary) and knownBug,
// which says which of them a failing call matches.  run.js counts such a failure in the
// summary instead of failing the run, unless --strict.

// ---------------------------------------------------------------------------------
// Known library bugs: a failing call that matches one of these is counted, not failed
// (unless --strict).  Each is reproduced minimally in test/properties.test.ts.  (BUG-1…11
// and 13…29, found by this harness and the property tests, are fixed; their checks are now
// ordinary failures of the harness.)
// ---------------------------------------------------------------------------------

export const KNOWN = {
};

/**
 * Which known bug a failing call matches.  `e.known` is set by the expectation (from the
 * arguments as they were before the call); the other arguments are there for predicates of
 * bugs to come (memory growth: `grew`; WasmArray arguments: `ctx.flags`, `ctx.loose`).
 */
// eslint-disable-next-line no-unused-vars
export function knownBug(c, e, thrown, ctx, grew, args, options, before) {
  if (e.known) return e.known;
  return null;
}
