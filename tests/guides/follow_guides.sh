#!/usr/bin/env bash
# Follows docs/coordinator-guide.md and docs/steward-guide.md from scratch, as a new consortium
# would: installs the build (cmake --install) into a fresh prefix, then runs every `sh` block
# marked `<!-- step: NAME [@MACHINE] [env|background] -->` as written, in the order of the
# scenario below, on four "machines" (folders of their own: the CA, the aggregator host, the
# coordinator's workstation, the hospital). On each machine /etc, /var/lib, /srv and /tmp are
# moved under its folder, HOME is its home, and PATH has only the installed prefix and /usr/bin:/bin;
# the aggregator listens on 127.0.0.1. Files that people send each other (a CSR, a certificate,
# a CRL) are copied by the scenario (`send`). The hospital's exports are synthetic
# (scancov-synth-site), its admission table rewritten as a European export (`;`, decimal
# commas, Latin-1, local column names) for the guide's mapping.
#
# A `sh` block that is neither a step nor marked `<!-- not run by the guide test: WHY -->` fails
# the test, and so does any command of a step.
#
# usage: follow_guides.sh BUILD_DIR SOURCE_DIR WORK_DIR
set -euo pipefail
fail() {
  echo "follow_guides: $*" >&2
  exit 1
}

BUILD=$(cd "$1" && pwd)
SRC=$(cd "$2" && pwd)
WORK=$3
GUIDES=("$SRC/docs/coordinator-guide.md" "$SRC/docs/steward-guide.md")

rm -rf "$WORK"
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
case $WORK in  # the machines' /etc, /var/lib, /srv and /tmp are moved under it
  /etc/* | /var/lib/* | /srv/* | /tmp/*) fail "WORK_DIR $WORK: choose a folder outside /etc, /var/lib, /srv and /tmp" ;;
esac
PREFIX=$WORK/usr/local
STEPS=$WORK/steps
mkdir -p "$STEPS"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT


# --- the guides' blocks --------------------------------------------------------------------
# Writes each step's block to $STEPS/NAME.sh and its machine and flags to $STEPS/NAME.meta;
# fails on an unmarked sh block and on a step named twice.
for guide in "${GUIDES[@]}"; do
  [[ -f $guide ]] || fail "missing guide $guide"
  awk -v guide="$guide" -v out="$STEPS" '
    function bad(msg) { printf "follow_guides: %s:%d: %s\n", guide, NR, msg > "/dev/stderr"; failed = 1 }
    /^<!-- step: / {
      marker = $0; sub(/^<!-- step: /, "", marker); sub(/ *-->$/, "", marker)
      n = split(marker, w, " "); name = w[1]; machine = "site"; flags = ""
      for (i = 2; i <= n; i++) { if (w[i] ~ /^@/) machine = substr(w[i], 2); else flags = flags " " w[i] }
      if (name in seen) bad("step " name " is named twice")
      seen[name] = 1; pending = name; pending_line = NR; next
    }
    /^<!-- not run by the guide test: / { pending = "-"; pending_line = NR; next }
    /^```sh/ && !inblock {
      if (pending == "" || pending_line != NR - 1)
        bad("a sh block that is neither a step nor marked \"not run by the guide test: why\"")
      inblock = 1; current = pending; pending = ""
      if (current != "-") {
        printf "" > (out "/" current ".sh")
        printf "%s%s\n", machine, flags > (out "/" current ".meta")
        close(out "/" current ".meta")
      }
      next
    }
    /^```/ && inblock { inblock = 0; if (current != "-") close(out "/" current ".sh"); next }
    inblock && current != "-" { print > (out "/" current ".sh") }
    END { if (inblock) bad("an unclosed code block"); exit failed }
  ' "$guide" || fail "$guide: unmarked or malformed blocks (above)"
done

# --- the machines --------------------------------------------------------------------------
# A free port for the aggregator: one nothing answers on (a race with another program is unlikely
# and would show as the aggregator failing to listen, below).
for _ in $(seq 50); do
  PORT=$((20000 + RANDOM % 40000))
  (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null || break
done
for m in ca aggregator coordinator site; do
  # What installing the package leaves (docs/install.md): the config and state folders.
  mkdir -p "$WORK/$m/home" "$WORK/$m/etc/scancov" "$WORK/$m/var/lib/scancov" "$WORK/$m/srv" \
    "$WORK/$m/tmp"
  : >"$WORK/$m/env.sh"
done

# The text of a step as it runs on machine $1: the system paths moved under the machine.
localise() {
  local root=$WORK/$1
  perl -pe '
    BEGIN { ($root, $prefix, $port) = @ARGV; @ARGV = () }
    s{(?<![\w./~-])/usr/local(?=/)}{$prefix}g;
    s{(?<![\w./~-])/(etc|var/lib|srv|tmp)(?=/)}{$root/$1}g;
    s{\bagg\.example\.org:7443\b}{127.0.0.1:$port}g;
    s{\b0\.0\.0\.0:7443\b}{127.0.0.1:$port}g;
  ' "$root" "$PREFIX" "$PORT"
}

# Runs a step on its machine; a `background` step is started and left running.
step() {
  local name=$1 meta machine flags root script
  [[ -f $STEPS/$name.sh ]] || fail "the scenario runs step '$name', which no guide has"
  meta=$(cat "$STEPS/$name.meta")
  machine=${meta%% *}
  flags=" ${meta#"$machine"} "
  root=$WORK/$machine
  script=$WORK/run-$name.sh
  {
    echo "set -euo pipefail"
    echo "source $root/env.sh"
    localise "$machine" <"$STEPS/$name.sh"
  } >"$script"
  echo "== $machine: $name"
  if [[ $flags == *" env "* ]]; then
    localise "$machine" <"$STEPS/$name.sh" >>"$root/env.sh"
  fi
  if [[ $flags == *" background "* ]]; then
    (cd "$root/home" && exec env -i HOME="$root/home" PATH="$PREFIX/bin:/usr/bin:/bin" \
      bash "$script" >"$WORK/$name.log" 2>&1) &
    pids+=($!)
    return
  fi
  if ! (cd "$root/home" && env -i HOME="$root/home" PATH="$PREFIX/bin:/usr/bin:/bin" \
        bash "$script") >"$WORK/$name.log" 2>&1; then
    echo "--- the step, as run:" >&2
    cat "$script" >&2
    echo "--- its output:" >&2
    tail -40 "$WORK/$name.log" >&2
    fail "step '$name' on $machine failed"
  fi
  sed 's/^/   /' "$WORK/$name.log" | head -30
  ran+=("$name")
}
ran=()

# Sends a file from one machine to another, as people do by mail (paths as in the guides).
send() {  # FROM_MACHINE FROM_PATH TO_MACHINE TO_PATH
  local from to
  from=$(echo "$2" | localise "$1" | sed "s|^~|$WORK/$1/home|")
  to=$(echo "$4" | localise "$3" | sed "s|^~|$WORK/$3/home|")
  cp "$from" "$to" || fail "cannot send $2 from $1 to $4 at $3"
}

# Runs an installed systemd unit's service in the background on a machine, as systemd would:
# its EnvironmentFile sourced, its ExecStart (continuation lines joined), paths localised.
unit_step() {  # MACHINE UNIT
  local unit=$PREFIX/lib/systemd/system/$2.service env_file exec_start
  [[ -f $unit ]] || fail "cmake --install did not install $unit"
  exec_start=$(sed -n '/^ExecStart=/,/[^\\]$/p' "$unit" | sed 's/^ExecStart=//; s/\\$//' | tr '\n' ' ')
  [[ -n $exec_start ]] || fail "$unit has no ExecStart"
  env_file=$(sed -n 's/^EnvironmentFile=-\{0,1\}//p' "$unit")
  {
    if [[ -n $env_file ]]; then echo "set -a; . $env_file; set +a"; fi
    echo "exec $exec_start"
  } >"$STEPS/unit-$2.sh"
  echo "$1 background" >"$STEPS/unit-$2.meta"
  step "unit-$2"
}

# --- install -------------------------------------------------------------------------------
echo "== install: cmake --install into $PREFIX"
cmake --install "$BUILD" --prefix "$PREFIX" >"$WORK/install.log" 2>&1 \
  || { tail -20 "$WORK/install.log" >&2; fail "cmake --install failed"; }
for b in scancov-node scancov-aggregator scancov-coord scancov-pki scancov-score; do
  [[ -x $PREFIX/bin/$b ]] || fail "cmake --install did not install bin/$b"
done

# --- the hospital's exports (synthetic) ---------------------------------------------------------
SITE=$WORK/site
"$BUILD/sites/synth/scancov-synth-site" --log-level warn --site kb --seed 11 --patients 240 \
  --ct small --ct-patients 3 --out "$WORK/synth"
mkdir -p "$SITE/srv/exports" "$SITE/srv/pacs-export"
i=0
for p in "$WORK"/synth/ct/*/; do  # one folder per patient, as a PACS export is often laid out
  i=$((i + 1))
  mv "$p" "$SITE/srv/pacs-export/patient-$i"
done
# The admission table as a European hospital system exports it.
awk -F, '
  { gsub(/"[^"]*"/, "\"NOM\"") }
  NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i
            print "IPP;NOM;DATE_NAISSANCE;AGE;SEXE;SPO2;PLAQUETTES;UREE;FR;ETENDUE_TDM;GRAVE;COMMENTAIRE"; next }
  { sex = $col["sex"] == "1" ? "M" : ($col["sex"] == "0" ? "F" : "")
    line = $col["patient_id"] ";Hélène Dupré;" $col["birth_date"] ";" $col["age"] ";" sex ";" \
           $col["spo2"] ";" $col["platelets"] ";" $col["urea"] ";" $col["respiratory_rate"] ";" \
           $col["disease_extent"] ";" $col["severe"] ";vu aux urgences"
    gsub(/\./, ",", line); print line }
' "$WORK/synth/admission.csv" | iconv -f UTF-8 -t LATIN1 >"$SITE/srv/exports/admissions.csv"
grep -q ',' "$SITE/srv/exports/admissions.csv" || fail "the export has no decimal comma"

# --- the scenario: the two guides interleaved as the people would follow them -----------------
step ca-init
send ca /srv/scancov-ca/ca.crt aggregator "~/ca.crt"
step aggregator-kit
send aggregator /etc/scancov/aggregator.csr ca "~/aggregator.csr"
step sign-aggregator
send ca /srv/scancov-ca/aggregators/aggregator.crt aggregator "~/aggregator.crt"
send ca /srv/scancov-ca/crl.pem aggregator "~/crl.pem"
step aggregator-certificates
# The aggregator as its systemd unit runs it: the unit's ExecStart with its EnvironmentFile.
unit_step aggregator scancov-aggregator
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
  sleep 0.2
done
(exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null \
  || { cat "$WORK/unit-scancov-aggregator.log" >&2; fail "the aggregator does not listen on $PORT"; }

step coordinator-request
send coordinator "~/scancov/alice.csr" ca "~/alice.csr"
step sign-coordinator
send ca /srv/scancov-ca/coordinators/alice.crt coordinator "~/scancov/alice.crt"
send ca /srv/scancov-ca/ca.crt coordinator "~/scancov/ca.crt"
step coordinator-env
step coordinator-first-call

step version
send ca /srv/scancov-ca/ca.crt site "~/ca.crt"
step kit
send site /etc/scancov/kb.csr ca "~/kb.csr"
step sign-site
send ca "~/kb.crt" site "~/kb.crt"
send ca "~/crl.pem" site "~/crl.pem"
step install-certificate
step show-config
step enroll
step check
step mapping
step import-clinical
step import-dicom
step status

# The node as its systemd unit runs it.
unit_step site scancov-node

step templates-dry-run
step first-study
for _ in $(seq 100); do  # the request reaches the node with its first task poll
  (cd "$SITE/home" && env -i HOME="$SITE/home" PATH="$PREFIX/bin:/usr/bin:/bin" \
    scancov-node --config "$SITE/etc/scancov/site.json" --log-level warn pending) 2>/dev/null \
    | grep -q '^first-cohort' && break
  sleep 0.3
done
step pending
grep -q first-cohort "$WORK/pending.log" || fail "the study did not reach the node's pending list"
step approve
step watch
step read-report
grep -q 'first-cohort' "$WORK/coordinator/home/reports/first-cohort/report.html" \
  || fail "the report does not name its study"
grep -q '"state": *"STUDY_STATE_DONE"\|"state": *"done"\|DONE' \
  "$WORK/coordinator/home/first-cohort-status.json" \
  || fail "first-cohort did not end done: $(head -c 400 "$WORK/coordinator/home/first-cohort-status.json")"
step ledger
grep -q 'first-cohort' "$WORK/ledger.log" || fail "the ledger does not list the study's release"
step score
[[ -s $SITE/tmp/patient-1.html ]] || fail "scancov-score wrote no report"
step backup
step audit
grep -q 'first-cohort' "$WORK/coordinator/home/audit.txt" || fail "the audit log does not have the study"

# Leaving: disabled at the aggregator, revoked at the CA; the new CRL reaches the aggregator.
step disable
step revoke
send ca /srv/scancov-ca/crl.pem aggregator /etc/scancov/pki/crl.pem
(cd "$WORK/coordinator/home" && env -i HOME="$WORK/coordinator/home" PATH="$PREFIX/bin:/usr/bin:/bin" \
  bash -c "source $WORK/coordinator/env.sh && scancov-coord audit") 2>&1 | grep -q 'left the consortium' \
  || fail "the audit log does not keep the reason the site was disabled"
# The site's own check now fails: the aggregator refuses it.
if (cd "$SITE/home" && env -i HOME="$SITE/home" PATH="$PREFIX/bin:/usr/bin:/bin" \
    scancov-node --config "$SITE/etc/scancov/site.json" check) >"$WORK/check-after.log" 2>&1; then
  cat "$WORK/check-after.log" >&2
  fail "a disabled, revoked site still passes check"
fi
grep -q '^FAIL  aggregator' "$WORK/check-after.log" \
  || { cat "$WORK/check-after.log" >&2; fail "check does not say the aggregator refuses the site"; }

# Every step of the guides ran.
for f in "$STEPS"/*.sh; do
  name=$(basename "$f" .sh)
  [[ " ${ran[*]} " == *" $name "* ]] || [[ $name == unit-* ]] \
    || fail "step '$name' is in a guide but not in the scenario"
done
echo "follow_guides: both guides followed, ${#ran[@]} steps"
