# Sourced by start.sh and web.sh (from the repository root): the data directory and the tokens they share.

# data_dir ROOT: BPFSCOPE_DATA_DIR (default ROOT/data), made 0700, exported as an absolute path.
data_dir() {
  local data=${BPFSCOPE_DATA_DIR:-$1/data}
  mkdir -p "$data"; chmod 700 "$data"
  BPFSCOPE_DATA_DIR=$(cd "$data" && pwd)
  export BPFSCOPE_DATA_DIR
}

# token_file NAME FILE: unless NAME or NAME_FILE is set, export NAME_FILE=FILE, a secret of 32 random
# bytes (base64url) made once, readable by its owner only.
token_file() {
  local name=$1 file=$2 fvar="$1_FILE"
  if [ -z "${!name:-}" ] && [ -z "${!fvar:-}" ]; then
    export "$fvar=$file"
    if [ ! -s "$file" ]; then
      (umask 077; node -e 'process.stdout.write(require("crypto").randomBytes(32).toString("base64url"))' > "$file")
    fi
  fi
}
