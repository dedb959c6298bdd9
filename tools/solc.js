#!/usr/bin/env node
// A stand-in for the native `solc` command line, backed by the solcjs (wasm) build pinned in
// package.json (node_modules/solc/soljson.js), so py-solc-x can compile without downloading anything.
//
// Supported, as py-solc-x 2.0.5 uses them:
//   solc.js --version
//   solc.js --standard-json [--base-path DIR] [--include-path DIR]... [--allow-paths DIR[,DIR...]] [FILE|-]
//     Reads standard JSON from FILE or stdin, writes the output JSON to stdout and exits 0, compile
//     errors included (they are in the output's "errors", as with native solc).
//
// Imports that are not given as sources are read from disk, like native solc's file reader: a source
// unit name is looked up under the base path (default: the working directory), then each include path,
// then in node_modules directories (walking up from the base path, then this repository's), so
// "@openzeppelin/contracts/..." resolves to the npm package. A file is only read if its real path is
// under the base path, an include path, an --allow-paths entry or the node_modules directory it was
// found in.
//
// Anything else is refused the way native solc refuses it ("unrecognised option '...'", exit 1), which
// py-solc-x reports as UnknownOption.
"use strict";

const fs = require("fs");
const path = require("path");

function usageError(message) {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

function parseArgs(argv) {
  const opts = { version: false, standardJson: false, basePath: null, includePaths: [], allowPaths: [], input: null };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inlineValue] = arg.startsWith("--") && arg.includes("=") ? arg.split(/=(.*)/s, 2) : [arg, undefined];
    const value = () => {
      if (inlineValue !== undefined) return inlineValue;
      if (i + 1 >= argv.length) usageError(`the required argument for option '${flag}' is missing`);
      return argv[++i];
    };
    switch (flag) {
      case "--version":
        opts.version = true;
        break;
      case "--standard-json":
        opts.standardJson = true;
        break;
      case "--base-path":
        opts.basePath = value();
        break;
      case "--include-path":
        opts.includePaths.push(value());
        break;
      case "--allow-paths":
        opts.allowPaths.push(...value().split(",").filter((p) => p !== ""));
        break;
      default:
        if (flag.startsWith("-") && flag !== "-") usageError(`unrecognised option '${flag}'`);
        if (opts.input !== null) usageError("only one input file is supported with --standard-json");
        opts.input = flag;
    }
  }
  return opts;
}

function realpathOrNull(p) {
  try {
    return fs.realpathSync(p);
  } catch {
    return null;
  }
}

function isInside(file, dir) {
  const rel = path.relative(dir, file);
  return rel === "" || (!rel.startsWith(`..${path.sep}`) && rel !== ".." && !path.isAbsolute(rel));
}

function makeImportCallback(opts) {
  const basePath = path.resolve(opts.basePath ?? process.cwd());
  const includePaths = opts.includePaths.map((p) => path.resolve(p));
  const allowed = [basePath, ...includePaths, ...opts.allowPaths.map((p) => path.resolve(p))]
    .map(realpathOrNull)
    .filter((p) => p !== null);

  const nodeModules = [];
  for (let dir = basePath; ; dir = path.dirname(dir)) {
    nodeModules.push(path.join(dir, "node_modules"));
    if (path.dirname(dir) === dir) break;
  }
  nodeModules.push(path.resolve(__dirname, "..", "node_modules"));

  return function findImports(sourceUnitName) {
    if (path.isAbsolute(sourceUnitName) || sourceUnitName.split("/").includes("..")) {
      return { error: `refusing to read ${sourceUnitName}: not a normalised relative source unit name` };
    }
    const candidates = [
      ...[basePath, ...includePaths].map((root) => ({ file: path.join(root, sourceUnitName), root: null })),
      ...nodeModules.map((root) => ({ file: path.join(root, sourceUnitName), root })),
    ];
    for (const { file, root } of candidates) {
      const real = realpathOrNull(file);
      if (real === null || !fs.statSync(real).isFile()) continue;
      const rootReal = root === null ? null : realpathOrNull(root);
      const ok = allowed.some((dir) => isInside(real, dir)) || (rootReal !== null && isInside(real, rootReal));
      if (!ok) return { error: `${real} is outside the allowed directories` };
      return { contents: fs.readFileSync(real, "utf8") };
    }
    return { error: `File not found: ${sourceUnitName} (looked under ${basePath}, include paths and node_modules)` };
  };
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const solc = require("solc");
  if (opts.version) {
    process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`);
    return;
  }
  if (!opts.standardJson) usageError("only --version and --standard-json are supported by this solcjs shim");
  const input = fs.readFileSync(opts.input === null || opts.input === "-" ? 0 : opts.input, "utf8");
  const output = solc.compile(input, { import: makeImportCallback(opts) });
  process.stdout.write(output.endsWith("\n") ? output : `${output}\n`);
}

main();
