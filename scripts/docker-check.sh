#!/usr/bin/env bash
# Checks the Dockerfile without a Docker engine (CI has only the docker client).
#
# It reads the Dockerfile and replays its stages outside Docker, faithfully enough to
# catch the usual breakages (a file the image needs but never gets, a dependency that is
# only in devDependencies, a build that needs something the context lacks, a server that
# does not start, answer its health checks or stop cleanly in that layout):
#
#   1. the build context: the working tree's files that git tracks or would track
#      (`git ls-files -co --exclude-standard`, so uncommitted work counts and ignored
#      local state such as node_modules/, dist/, data/ does not), minus .dockerignore;
#   2. each stage in its own empty directory standing for its WORKDIR: its COPY lines
#      (from the context or from an earlier stage) and its RUN lines (npm commands are
#      run with the stage's ENV; image set-up outside WORKDIR, e.g. `mkdir /data`, is
#      skipped; anything else stops the check, so nothing is silently not replayed);
#   3. the last stage is started with its CMD and ENV, as uid 1000 (the image's `node`
#      user) when this runs as root, with HOST=127.0.0.1, a free PORT, a temporary
#      DATA_DIR, a generated SECRET_KEY and PAYMENTS_SANDBOX=true; /healthz and /readyz
#      must answer 200 within 60 s, the Dockerfile's HEALTHCHECK command must pass, and
#      SIGTERM must stop it with exit code 0 within 15 s.
#
# What it cannot check: the base image itself (its node/npm versions are this machine's),
# Docker's layer cache, file ownership inside the image, and the --mount cache flags.
#
# Usage: scripts/docker-check.sh            (DOCKERFILE=path to check another file)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DOCKERFILE="${DOCKERFILE:-$ROOT/Dockerfile}"
READY_TIMEOUT=60
STOP_TIMEOUT=15
START_TIME=$(date +%s)

step() { printf '\n=== docker-check [%3ss] %s\n' "$(($(date +%s) - START_TIME))" "$*"; }
note() { printf '    %s\n' "$*"; }
die() {
  printf '\ndocker-check: FAILED: %s\n' "$*" >&2
  exit 1
}

for tool in node npm git curl tar timeout; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' is not installed; this check needs it"
done
[ -f "$DOCKERFILE" ] || die "no Dockerfile at $DOCKERFILE"
git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1 ||
  die "$ROOT is not a git work tree: the build context is taken from git ls-files"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/quita-docker-check.XXXXXX")"
chmod 755 "$WORK"
SERVER_PID=""

cleanup() {
  local rc=$?
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
  if [ "$rc" -ne 0 ]; then
    printf 'docker-check: failed after %ss (exit %s)\n' "$(($(date +%s) - START_TIME))" "$rc" >&2
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------------------
# The helper: Dockerfile parsing, .dockerignore matching, a free port, dev-package check.
HELPER="$WORK/helper.cjs"
cat >"$HELPER" <<'JS'
'use strict';
const fs = require('node:fs');
const path = require('node:path');

function fail(msg) {
  process.stderr.write(msg + '\n');
  process.exit(2);
}

// Shell-like words: quotes and backslashes, no expansion.
function words(s, where) {
  const out = [];
  let cur = null;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === "'") {
      const j = s.indexOf("'", i + 1);
      if (j < 0) fail(`${where}: unterminated quote`);
      cur = (cur ?? '') + s.slice(i + 1, j);
      i = j;
    } else if (c === '"') {
      let j = i + 1;
      let v = '';
      while (j < s.length && s[j] !== '"') {
        if (s[j] === '\\' && j + 1 < s.length) j++;
        v += s[j++];
      }
      if (j >= s.length) fail(`${where}: unterminated quote`);
      cur = (cur ?? '') + v;
      i = j;
    } else if (c === '\\' && i + 1 < s.length) {
      cur = (cur ?? '') + s[++i];
    } else if (/\s/.test(c)) {
      if (cur !== null) out.push(cur);
      cur = null;
    } else {
      cur = (cur ?? '') + c;
    }
  }
  if (cur !== null) out.push(cur);
  return out;
}

function field(v, where) {
  if (v === '' || /[\t\n\r]/.test(v)) fail(`${where}: empty value, tab or newline in ${JSON.stringify(v)} is not supported by docker-check`);
  return v;
}
function emit(...fields) {
  process.stdout.write(fields.map((f) => field(String(f), fields[0])).join('\t') + '\n');
}

function seconds(d) {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?$/.exec(d);
  if (!m || d === '') fail(`HEALTHCHECK: cannot read the duration ${d}`);
  return Math.ceil(Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0));
}

function plan(file) {
  const src = fs.readFileSync(file, 'utf8').split(/\r?\n/);
  const instrs = [];
  let cur = '';
  let at = 0;
  for (let i = 0; i < src.length; i++) {
    const line = src[i];
    if (/^\s*#/.test(line)) continue; // comments (and parser directives), also inside continuations
    if (cur === '' && line.trim() === '') continue;
    if (cur === '') at = i + 1;
    if (/\\\s*$/.test(line)) {
      cur += line.replace(/\\\s*$/, ' ');
      continue;
    }
    cur += line;
    instrs.push({ line: at, text: cur.trim() });
    cur = '';
  }
  if (cur.trim()) fail(`Dockerfile line ${at}: ends inside a line continuation`);

  const stages = [];
  let st = null;
  const need = (where) => {
    if (!st) fail(`${where}: before any FROM`);
    if (!st.workdir) fail(`${where}: WORKDIR must be set before COPY/RUN (docker-check maps WORKDIR to a directory)`);
  };
  for (const { line, text } of instrs) {
    const m = /^(\S+)\s*(.*)$/s.exec(text);
    const kw = m[1].toUpperCase();
    const rest = m[2].trim();
    const where = `Dockerfile line ${line} (${kw})`;
    switch (kw) {
      case 'FROM': {
        const w = words(rest, where).filter((x) => !x.startsWith('--platform='));
        if (w.length !== 1 && !(w.length === 3 && w[1].toUpperCase() === 'AS')) fail(`${where}: expected FROM image [AS name]`);
        const base = w[0];
        const name = w[2] ?? `stage${stages.length}`;
        const parent = stages.find((s) => s.name === base);
        if (!parent) {
          // An image: its tag must pin a version (x.y.z) or a digest.
          if (!/@sha256:[0-9a-f]{64}$/.test(base) && !/:[^/]*\d+\.\d+\.\d+[^/]*$/.test(base))
            fail(`${where}: base image ${base} is not pinned to an exact version tag (x.y.z) or a digest`);
        }
        st = { name, base, parent: parent?.name, workdir: parent?.workdir, env: new Map(parent?.env ?? []), user: parent?.user, line };
        stages.push(st);
        emit('stage', name, base, parent ? parent.name : '-');
        if (st.workdir) emit('workdir', st.workdir);
        break;
      }
      case 'WORKDIR': {
        if (!st) fail(`${where}: before any FROM`);
        if (st.workdir || st.used) fail(`${where}: one WORKDIR per stage, before its COPY/RUN lines, is all docker-check supports`);
        if (!rest.startsWith('/') || /[\s$]/.test(rest)) fail(`${where}: WORKDIR must be a plain absolute path`);
        st.workdir = path.posix.normalize(rest).replace(/\/$/, '') || '/';
        emit('workdir', st.workdir);
        break;
      }
      case 'ENV': {
        if (!st) fail(`${where}: before any FROM`);
        const w = words(rest, where);
        const pairs = w[0]?.includes('=') ? w.map((x) => {
          const i = x.indexOf('=');
          if (i <= 0) fail(`${where}: expected KEY=value, got ${x}`);
          return [x.slice(0, i), x.slice(i + 1)];
        }) : [[w[0], w.slice(1).join(' ')]];
        for (const [k, v] of pairs) {
          if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) fail(`${where}: bad variable name ${k}`);
          if (v.includes('$')) fail(`${where}: ${k}: variable expansion is not supported by docker-check`);
          if (/SECRET|TOKEN|PASSWORD|PASSWD|PRIVATE_?KEY|CREDENTIAL|API_?KEY|DATABASE_URL|REDIS_URL/i.test(k))
            fail(`${where}: ${k} looks like a secret or a deployment setting; it must come from the environment at run time, not be baked into the image`);
          st.env.set(k, v);
          emit('env', k, v);
        }
        break;
      }
      case 'COPY': {
        need(where);
        st.used = true;
        let args;
        let flags = [];
        const w0 = words(rest, where);
        while (w0.length && w0[0].startsWith('--')) flags.push(w0.shift());
        if (w0.length && w0[0].startsWith('[')) {
          const j = rest.indexOf('[');
          try { args = JSON.parse(rest.slice(j)); } catch { fail(`${where}: bad JSON form`); }
        } else args = w0;
        let from = '-';
        for (const f of flags) {
          if (f.startsWith('--from=')) from = f.slice(7);
          else if (f.startsWith('--chown=') || f.startsWith('--chmod=') || f === '--link' || f.startsWith('--link=')) continue;
          else fail(`${where}: the flag ${f} is not supported by docker-check`);
        }
        if (from !== '-' && !stages.slice(0, -1).some((s) => s.name === from))
          fail(`${where}: --from=${from} is not an earlier stage of this file (copying from an image is not replayed)`);
        if (args.length < 2) fail(`${where}: COPY needs a source and a destination`);
        for (const a of args) if (/[*?[]/.test(a)) fail(`${where}: wildcards (${a}) are not supported by docker-check; name the files`);
        const dest = args[args.length - 1];
        emit('copy', from, dest, ...args.slice(0, -1));
        break;
      }
      case 'ADD':
        fail(`${where}: use COPY (ADD fetches URLs and unpacks archives; docker-check does not replay it)`);
        break;
      case 'RUN': {
        need(where);
        st.used = true;
        let cmd = rest;
        for (;;) {
          const f = /^--(mount|network|security)=\S+\s+/.exec(cmd);
          if (!f) break;
          cmd = cmd.slice(f[0].length);
        }
        if (cmd.startsWith('[') || cmd.startsWith('<<')) fail(`${where}: only the shell form of RUN is supported by docker-check`);
        if (/[;|<>$`]|\|\||\n/.test(cmd)) fail(`${where}: ${cmd}\n  is too complex for docker-check to replay faithfully: keep RUN lines to commands joined by &&`);
        for (const piece of cmd.split('&&')) {
          const argv = words(piece.trim(), where);
          if (argv.length === 0) fail(`${where}: empty command`);
          const [prog, ...args] = argv;
          if (prog === 'npm' && args[0] === 'cache') emit('skip', argv.join(' '), 'the npm cache (left alone here)');
          else if (prog === 'npm') emit('run', ...argv);
          else if (['mkdir', 'chown', 'chmod'].includes(prog)) {
            const paths = args.filter((a) => !a.startsWith('-')).slice(prog === 'mkdir' ? 0 : 1);
            if (paths.length === 0) fail(`${where}: ${piece.trim()}: no path`);
            for (const p of paths) {
              const inside = st.workdir === '/' || p === st.workdir || p.startsWith(st.workdir + '/') || !p.startsWith('/');
              if (inside) fail(`${where}: ${piece.trim()} changes files under WORKDIR ${st.workdir}; docker-check does not replay that`);
            }
            emit('skip', argv.join(' '), 'image set-up outside WORKDIR');
          } else fail(`${where}: docker-check does not know how to replay "${piece.trim()}" (it runs npm and skips mkdir/chown/chmod outside WORKDIR); teach scripts/docker-check.sh`);
        }
        break;
      }
      case 'USER':
        if (!st) fail(`${where}: before any FROM`);
        st.user = rest;
        emit('user', rest);
        break;
      case 'VOLUME': {
        if (!st) fail(`${where}: before any FROM`);
        let v;
        if (rest.startsWith('[')) {
          try { v = JSON.parse(rest); } catch { fail(`${where}: bad JSON form`); }
        } else v = words(rest, where);
        st.volumes = [...(st.volumes ?? []), ...v];
        emit('volume', ...v);
        break;
      }
      case 'EXPOSE':
        if (!st) fail(`${where}: before any FROM`);
        st.expose = [...(st.expose ?? []), ...words(rest, where).map((p) => p.replace(/\/tcp$/, ''))];
        break;
      case 'HEALTHCHECK': {
        if (!st) fail(`${where}: before any FROM`);
        if (/^NONE$/i.test(rest)) fail(`${where}: HEALTHCHECK NONE: the image must have a health check`);
        const m2 = /^((?:--\S+\s+)*)CMD\s+(.*)$/s.exec(rest);
        if (!m2) fail(`${where}: expected HEALTHCHECK [options] CMD [...]`);
        let timeout = 30;
        for (const f of m2[1].trim().split(/\s+/).filter(Boolean)) {
          const [k, v] = f.split('=');
          if (k === '--timeout') timeout = seconds(v);
          else if (!['--interval', '--start-period', '--start-interval', '--retries'].includes(k)) fail(`${where}: unknown option ${f}`);
        }
        let argv;
        try { argv = JSON.parse(m2[2]); } catch { fail(`${where}: use the exec (JSON) form of HEALTHCHECK CMD`); }
        if (!Array.isArray(argv) || !argv.length || argv.some((a) => typeof a !== 'string')) fail(`${where}: CMD must be a JSON array of strings`);
        st.healthcheck = true;
        emit('healthcheck', timeout, ...argv);
        break;
      }
      case 'CMD': {
        if (!st) fail(`${where}: before any FROM`);
        let argv;
        try { argv = JSON.parse(rest); } catch { fail(`${where}: use the exec (JSON) form of CMD, so that the app is PID 1 and gets SIGTERM`); }
        if (!Array.isArray(argv) || !argv.length || argv.some((a) => typeof a !== 'string')) fail(`${where}: CMD must be a JSON array of strings`);
        st.cmd = argv;
        emit('cmd', ...argv);
        break;
      }
      case 'LABEL':
      case 'STOPSIGNAL':
        break;
      default:
        fail(`${where}: docker-check does not replay ${kw}; teach scripts/docker-check.sh or avoid it`);
    }
  }
  // What the runtime (last) stage must be.
  const rt = stages[stages.length - 1];
  if (!rt) fail('the Dockerfile has no FROM');
  const w = `the runtime stage (${rt.name})`;
  if (!rt.cmd) fail(`${w} has no CMD`);
  if (!rt.healthcheck) fail(`${w} has no HEALTHCHECK`);
  if (!rt.user || /^(root|0)(:.*)?$/.test(rt.user)) fail(`${w} must run as a non-root USER`);
  if (rt.env.get('NODE_ENV') !== 'production') fail(`${w} must set ENV NODE_ENV=production`);
  const port = rt.env.get('PORT') ?? '3000';
  if (!(rt.expose ?? []).includes(port)) fail(`${w}: EXPOSE ${(rt.expose ?? []).join(' ') || '(none)'} does not include the PORT it listens on (${port})`);
  const dataDir = rt.env.get('DATA_DIR');
  if (!dataDir) fail(`${w} must set DATA_DIR (the default ./data would be inside the app directory)`);
  if (!(rt.volumes ?? []).includes(dataDir)) fail(`${w}: DATA_DIR=${dataDir} is not declared as a VOLUME`);
  emit('final', rt.name);
}

// .dockerignore, as Docker reads it: a path is excluded when the last pattern matching it,
// or one of its parent directories, is not a `!` exception.
function contextFilter(root, ignoreFile) {
  const rules = [];
  if (fs.existsSync(ignoreFile)) {
    for (let line of fs.readFileSync(ignoreFile, 'utf8').split(/\r?\n/)) {
      line = line.trim();
      if (!line || line.startsWith('#')) continue;
      const negate = line.startsWith('!');
      if (negate) line = line.slice(1).trim();
      line = path.posix.normalize(line).replace(/^\/+/, '').replace(/\/+$/, '');
      let re = '';
      for (let i = 0; i < line.length; i++) {
        const c = line[i];
        if (c === '*' && line[i + 1] === '*') {
          if (line[i + 2] === '/') { re += '(?:.*/)?'; i += 2; } else { re += '.*'; i += 1; }
        } else if (c === '*') re += '[^/]*';
        else if (c === '?') re += '[^/]';
        else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
      }
      rules.push({ negate, re: new RegExp('^' + re + '$') });
    }
  }
  const list = fs.readFileSync(0, 'utf8').split('\0').filter(Boolean);
  const kept = [];
  for (const file of [...new Set(list)]) {
    const full = path.join(root, file);
    if (!fs.existsSync(full) || fs.statSync(full).isDirectory()) continue; // deleted in the work tree, or a submodule
    const parts = file.split('/');
    const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
    let excluded = false;
    for (const r of rules) if (prefixes.some((p) => r.re.test(p))) excluded = !r.negate;
    if (!excluded) kept.push(file);
  }
  process.stdout.write(kept.map((f) => f + '\0').join(''));
}

// Packages that package-lock.json marks dev-only but that are installed anyway.
function devLeftovers(dir) {
  const lock = JSON.parse(fs.readFileSync(path.join(dir, 'package-lock.json'), 'utf8'));
  const bad = Object.entries(lock.packages ?? {})
    .filter(([p, meta]) => p.startsWith('node_modules/') && meta.dev === true && fs.existsSync(path.join(dir, p)))
    .map(([p]) => p.slice('node_modules/'.length));
  process.stdout.write(bad.join('\n') + (bad.length ? '\n' : ''));
}

function freePort() {
  const srv = require('node:net').createServer();
  srv.listen(0, '127.0.0.1', () => {
    process.stdout.write(String(srv.address().port) + '\n');
    srv.close();
  });
}

const [cmd, ...args] = process.argv.slice(2);
if (cmd === 'plan') plan(args[0]);
else if (cmd === 'context') contextFilter(args[0], args[1]);
else if (cmd === 'dev-leftovers') devLeftovers(args[0]);
else if (cmd === 'free-port') freePort();
else fail(`helper: unknown command ${cmd}`);
JS

# The environment that RUN lines get: a clean one (like a build container) plus this
# machine's npm/proxy settings, so npm can reach its registry and reuse its cache.
RUN_BASE_ENV=("PATH=$PATH" "HOME=$HOME")
while IFS= read -r -d '' kv; do
  case "${kv%%=*}" in
    npm_config_* | NPM_CONFIG_* | http_proxy | https_proxy | no_proxy | HTTP_PROXY | HTTPS_PROXY | NO_PROXY | NODE_EXTRA_CA_CERTS | SSL_CERT_FILE)
      RUN_BASE_ENV+=("$kv")
      ;;
  esac
done < <(env -0)
# The lockfile pins versions and integrity hashes; reusing npm's cached metadata without
# revalidating it changes nothing that gets installed, only the time it takes.
[ -n "${npm_config_prefer_offline:-}${NPM_CONFIG_PREFER_OFFLINE:-}" ] || RUN_BASE_ENV+=("npm_config_prefer_offline=true")

# ---------------------------------------------------------------------------------------
step "parse $(basename "$DOCKERFILE")"
PLAN="$WORK/plan.tsv"
node "$HELPER" plan "$DOCKERFILE" >"$PLAN" 2>"$WORK/plan.err" ||
  die "$(basename "$DOCKERFILE"): $(cat "$WORK/plan.err")"
FINAL_STAGE="$(awk -F'\t' '$1 == "final" { print $2 }' "$PLAN")"
while IFS=$'\t' read -r -a f; do
  case "${f[0]}" in
    stage) note "stage ${f[1]} from ${f[2]}" ;;
    copy) note "  COPY ${f[1]/#-/context}: ${f[*]:3} -> ${f[2]}" ;;
    run) note "  RUN ${f[*]:1}" ;;
    skip) note "  RUN ${f[1]} (not replayed: ${f[2]})" ;;
  esac
done <"$PLAN"
note "runtime stage: $FINAL_STAGE"
IMAGE_NODE="$(awk -F'\t' '$1 == "stage" && $2 == "'"$FINAL_STAGE"'" { print $3 }' "$PLAN" | sed -n 's/^node:\([0-9][0-9.]*\).*/\1/p')"
if [ -n "$IMAGE_NODE" ] && [ "v$IMAGE_NODE" != "$(node --version)" ]; then
  note "note: the image has node $IMAGE_NODE, this machine $(node --version) (npm $(npm --version 2>/dev/null))"
fi

# ---------------------------------------------------------------------------------------
step "build context: git ls-files -co --exclude-standard, minus .dockerignore"
CONTEXT="$WORK/context"
mkdir -p "$CONTEXT"
git -C "$ROOT" ls-files -z -co --exclude-standard |
  node "$HELPER" context "$ROOT" "$ROOT/.dockerignore" >"$WORK/context.list"
tar -C "$ROOT" --null -T "$WORK/context.list" -cf - | tar -C "$CONTEXT" -xf -
note "$(tr -cd '\0' <"$WORK/context.list" | wc -c) files in the context"
# Every COPY from the context must find its source there, checked before any slow step.
while IFS=$'\t' read -r -a f; do
  [ "${f[0]}" = copy ] && [ "${f[1]}" = - ] || continue
  for s in "${f[@]:3}"; do
    [ -e "$CONTEXT/${s#/}" ] || die "COPY $s: not in the build context (it must be tracked by git, or untracked but not ignored, and not excluded by .dockerignore)"
  done
done <"$PLAN"
note "every COPY source from the context is present"

# ---------------------------------------------------------------------------------------
# Replays the plan, stage by stage.
declare -A STAGE_DIR=() STAGE_WORKDIR=() STAGE_ENV_FILE=()
stage="" dir="" workdir="" stage_env=()

# Maps a path in a stage (absolute, or relative to its WORKDIR when $3 is "relative-to-workdir")
# to the directory standing for that stage's WORKDIR.
map_path() {
  local st="$1" p="$2" mode="$3" wd="${STAGE_WORKDIR[$1]}"
  if [[ "$p" != /* ]]; then
    if [ "$mode" = relative-to-workdir ]; then
      printf '%s/%s' "${STAGE_DIR[$st]}" "$p"
      return
    fi
    p="/$p"
  fi
  if [ "$wd" = / ]; then
    printf '%s%s' "${STAGE_DIR[$st]}" "$p"
  elif [ "$p" = "$wd" ] || [ "$p" = "$wd/" ]; then
    printf '%s/' "${STAGE_DIR[$st]}"
  elif [[ "$p" == "$wd"/* ]]; then
    printf '%s/%s' "${STAGE_DIR[$st]}" "${p#"$wd"/}"
  else
    die "stage $st: $p is outside its WORKDIR $wd; docker-check only replays files under WORKDIR"
  fi
}

do_copy() { # from dest src...
  local from="$1" dest="$2"
  shift 2
  local to
  to="$(map_path "$stage" "$dest" relative-to-workdir)"
  local many=0
  [ $# -gt 1 ] && many=1
  local s src
  for s in "$@"; do
    if [ "$from" = - ]; then
      src="$CONTEXT/${s#/}"
      [ -e "$src" ] || die "stage $stage: COPY $s: not in the build context (it must be tracked by git, or untracked but not ignored, and not excluded by .dockerignore)"
    else
      src="$(map_path "$from" "$s" absolute)"
      [ -e "$src" ] || die "stage $stage: COPY --from=$from $s: stage $from has no such path"
    fi
    if [ -d "$src" ]; then
      mkdir -p "$to"
      cp -a "$src/." "$to/"
    elif [ "$many" = 1 ] || [[ "$dest" == */ ]] || [ -d "$to" ]; then
      mkdir -p "$to"
      cp -a "$src" "$to/"
    else
      mkdir -p "$(dirname "$to")"
      cp -a "$src" "$to"
    fi
  done
}

while IFS=$'\t' read -r -a f; do
  case "${f[0]}" in
    stage)
      stage="${f[1]}"
      step "stage $stage (FROM ${f[2]})"
      dir="$WORK/stages/$stage"
      mkdir -p "$dir"
      STAGE_DIR[$stage]="$dir"
      stage_env=()
      if [ "${f[3]}" != - ]; then
        cp -a "${STAGE_DIR[${f[3]}]}/." "$dir/"
        STAGE_WORKDIR[$stage]="${STAGE_WORKDIR[${f[3]}]}"
        mapfile -t stage_env <"${STAGE_ENV_FILE[${f[3]}]}"
      fi
      STAGE_ENV_FILE[$stage]="$WORK/stages/$stage.env"
      : >"${STAGE_ENV_FILE[$stage]}"
      [ ${#stage_env[@]} -eq 0 ] || printf '%s\n' "${stage_env[@]}" >"${STAGE_ENV_FILE[$stage]}"
      ;;
    workdir) STAGE_WORKDIR[$stage]="${f[1]}" ;;
    env)
      stage_env+=("${f[1]}=${f[2]}")
      printf '%s\n' "${stage_env[@]}" >"${STAGE_ENV_FILE[$stage]}"
      ;;
    copy)
      note "COPY ${f[1]/#-/context}: ${f[*]:3} -> ${f[2]}"
      do_copy "${f[1]}" "${f[2]}" "${f[@]:3}"
      ;;
    run)
      note "RUN ${f[*]:1}   (in the stage's WORKDIR, with its ENV: ${stage_env[*]:-none})"
      (cd "$dir" && env -i "${RUN_BASE_ENV[@]}" "${stage_env[@]}" "${f[@]:1}" </dev/null) ||
        die "stage $stage: RUN ${f[*]:1} failed"
      ;;
    skip) note "RUN ${f[1]}: not replayed (${f[2]})" ;;
    user) STAGE_USER="${f[1]}" ;;
    healthcheck)
      HC_TIMEOUT="${f[1]}"
      HEALTHCHECK=("${f[@]:2}")
      ;;
    cmd) CMD=("${f[@]:1}") ;;
  esac
done <"$PLAN"

RUNTIME="${STAGE_DIR[$FINAL_STAGE]}"
mapfile -t RUNTIME_ENV <"${STAGE_ENV_FILE[$FINAL_STAGE]}"

# ---------------------------------------------------------------------------------------
step "runtime stage contents"
# In the image nothing lies above WORKDIR: make sure nothing above this copy would be found
# instead (a package.json the app's root finder stops at, a node_modules node resolves from).
d="$(dirname "$RUNTIME")"
while :; do
  [ -e "$d/package.json" ] && die "$d/package.json exists above the runtime copy; set TMPDIR elsewhere"
  [ -e "$d/node_modules" ] && die "$d/node_modules exists above the runtime copy; set TMPDIR elsewhere"
  [ "$d" = / ] && break
  d="$(dirname "$d")"
done
for p in package.json package-lock.json node_modules "${CMD[@]:1:1}" migrations/meta/_journal.json views/static; do
  [ -e "$RUNTIME/$p" ] || die "the runtime stage lacks $p (the app reads it at run time): add a COPY for it"
done
DEV_LEFT="$(node "$HELPER" dev-leftovers "$RUNTIME")"
[ -z "$DEV_LEFT" ] || die "the runtime stage has dev-only packages installed (npm ci --omit=dev?): $(echo "$DEV_LEFT" | head -5 | tr '\n' ' ')"
for p in .env data .git test src; do
  [ ! -e "$RUNTIME/$p" ] || die "the runtime stage contains $p, which has no business in the image"
done
note "$(ls -A "$RUNTIME" | tr '\n' ' ')"
note "size: $(du -sh "$RUNTIME" | cut -f1) (node_modules $(du -sh "$RUNTIME/node_modules" | cut -f1)), no dev-only packages"

# How the server runs: as the image's unprivileged user when we can (root here), with the
# runtime stage's ENV and the overrides that make it runnable on this machine.
AS_USER=()
case "${STAGE_USER:-}" in
  node | node:node | 1000 | 1000:1000) RUN_UID=1000 ;;
  [1-9]*) RUN_UID="${STAGE_USER%%:*}" ;;
  *) die "USER $STAGE_USER: docker-check does not know its uid; use node or a numeric uid" ;;
esac
DATA="$WORK/data"
APP_HOME="$WORK/home"
mkdir -p "$DATA" "$APP_HOME"
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1; then
  chown "$RUN_UID:$RUN_UID" "$DATA" "$APP_HOME"
  chmod 755 "$WORK/stages"
  AS_USER=(setpriv "--reuid=$RUN_UID" "--regid=$RUN_UID" --clear-groups --)
  "${AS_USER[@]}" test -r "$RUNTIME/package.json" ||
    die "uid $RUN_UID cannot read $RUNTIME (a parent directory of TMPDIR is not traversable?)"
  note "the server runs as uid $RUN_UID (USER $STAGE_USER), the app files owned by root as in the image"
else
  note "not root: the server runs as $(id -un); USER $STAGE_USER is not simulated"
fi
PORT="$(node "$HELPER" free-port)"
SECRET="$(node -e "process.stdout.write(require('node:crypto').randomBytes(48).toString('base64url'))")"
SERVER_ENV=("PATH=$PATH" "HOME=$APP_HOME" "TZ=UTC" "${RUNTIME_ENV[@]}"
  "HOST=127.0.0.1" "PORT=$PORT" "DATA_DIR=$DATA" "PAYMENTS_SANDBOX=true")
BASE_URL="http://127.0.0.1:$PORT"

# ---------------------------------------------------------------------------------------
step "without SECRET_KEY, the image's production config must refuse to start"
set +e
(cd "$RUNTIME" && timeout 30 "${AS_USER[@]}" env -i "${SERVER_ENV[@]}" "${CMD[@]}") >"$WORK/nosecret.log" 2>&1
rc=$?
set -e
if [ "$rc" -eq 0 ] || [ "$rc" -eq 124 ] || ! grep -q 'SECRET_KEY' "$WORK/nosecret.log"; then
  cat "$WORK/nosecret.log" >&2
  die "started without SECRET_KEY (exit $rc): production must require it"
fi
note "exit $rc: $(grep 'SECRET_KEY' "$WORK/nosecret.log" | head -1 | sed 's/^ *//')"

# ---------------------------------------------------------------------------------------
step "start: ${CMD[*]}  (NODE_ENV from the image, PORT=$PORT, DATA_DIR=<temp>, SECRET_KEY=<generated>)"
LOG="$WORK/server.log"
touch "$WORK/started" # whatever the server writes from now on is newer than this
cd "$RUNTIME"
"${AS_USER[@]}" env -i "${SERVER_ENV[@]}" "SECRET_KEY=$SECRET" "${CMD[@]}" </dev/null >"$LOG" 2>&1 &
SERVER_PID=$!
cd "$ROOT"

server_log() {
  printf -- '--- server log (last 40 lines) ---\n' >&2
  tail -n 40 "$LOG" >&2 || true
  printf -- '---\n' >&2
}

deadline=$(($(date +%s) + READY_TIMEOUT))
for endpoint in /healthz /readyz; do
  while :; do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      set +e
      wait "$SERVER_PID"
      rc=$?
      set -e
      SERVER_PID=""
      server_log
      die "the server exited (code $rc) before $endpoint answered 200"
    fi
    code="$(curl -s -o "$WORK/body" -w '%{http_code}' --max-time 5 "$BASE_URL$endpoint" || true)"
    [ "$code" = 200 ] && break
    if [ "$(date +%s)" -ge "$deadline" ]; then
      server_log
      die "$endpoint did not answer 200 within ${READY_TIMEOUT}s (last: ${code:-no answer})"
    fi
    sleep 0.5
  done
  note "$endpoint 200 $(cat "$WORK/body")"
done

# ---------------------------------------------------------------------------------------
step "HEALTHCHECK: ${HEALTHCHECK[*]}"
set +e
(cd "$RUNTIME" && timeout "$HC_TIMEOUT" "${AS_USER[@]}" env -i "${SERVER_ENV[@]}" "SECRET_KEY=$SECRET" "${HEALTHCHECK[@]}") >"$WORK/hc.log" 2>&1
rc=$?
set -e
[ "$rc" -eq 0 ] || {
  cat "$WORK/hc.log" >&2
  die "the HEALTHCHECK command failed (exit $rc) against a healthy server"
}
note "exit 0"

# ---------------------------------------------------------------------------------------
step "SIGTERM: must exit with code 0 within ${STOP_TIMEOUT}s"
kill -TERM "$SERVER_PID"
stop_deadline=$(($(date +%s) + STOP_TIMEOUT))
while kill -0 "$SERVER_PID" 2>/dev/null; do
  if [ "$(date +%s)" -ge "$stop_deadline" ]; then
    server_log
    die "the server was still running ${STOP_TIMEOUT}s after SIGTERM"
  fi
  sleep 0.2
done
set +e
wait "$SERVER_PID"
rc=$?
set -e
SERVER_PID=""
if [ "$rc" -ne 0 ]; then
  server_log
  die "the server exited with code $rc after SIGTERM (expected 0)"
fi
note "exit 0"

# ---------------------------------------------------------------------------------------
step "after the stop"
set +e
(cd "$RUNTIME" && timeout "$HC_TIMEOUT" "${AS_USER[@]}" env -i "${SERVER_ENV[@]}" "${HEALTHCHECK[@]}") >/dev/null 2>&1
rc=$?
set -e
[ "$rc" -ne 0 ] || die "the HEALTHCHECK command passes with no server running: it checks nothing"
note "HEALTHCHECK fails with no server (exit $rc), as it should"
WRITTEN="$(find "$RUNTIME" -newer "$WORK/started" | head -5)"
[ -z "$WRITTEN" ] || die "the server wrote into its application directory (read-only to USER in the image): $WRITTEN"
note "nothing written into the application directory"
[ -n "$(ls -A "$DATA")" ] || die "nothing was written to DATA_DIR: where did the data go?"
note "DATA_DIR holds: $(ls -A "$DATA" | tr '\n' ' ')"
note "server log, last lines:"
tail -n 3 "$LOG" | cut -c1-200 | sed 's/^/      /'

step "OK: the Dockerfile's stages build, and the runtime stage starts, answers and stops cleanly"
