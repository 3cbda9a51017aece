# bench/lib.sh: what bench/run, bench/relay, bench/pop3 and bench/imap
# share (sourced, not run): the bench user, ports, starting and stopping
# servers by pid, the TLS certificate, the quiet-machine wait, private
# Postfix, Dovecot and surel instances, the median and ratio arithmetic of
# the report, and writing a section of bench/RESULTS.md. (bench/run keeps
# its own versions of some of these, defined after sourcing this file.)
#
# The sourcing script sets before use: BENCH_NAME (for messages), SRC, WORK,
# TEMPLATE (Maildirs by domain: TEMPLATE/bench.test/USER/), USER_NAME,
# QUIET_WAIT, QUIET_PCT, LOGFILES, ROWS, SUREL_BUILD, TESTS; and the arrays
# S_PID, S_PORT, S_MAIL (declare -A).

say() { printf '%s: %s\n' "$BENCH_NAME" "$*" >&2; }
die() { say "error: $*"; exit 1; }

bench_user() {
	getent passwd "$USER_NAME" >/dev/null ||
		useradd --system --user-group --no-create-home \
			--shell /usr/sbin/nologin "$USER_NAME"
	BUID=$(id -u "$USER_NAME")
	BGID=$(id -g "$USER_NAME")
}

port_listening() {
	[ -n "$(ss -Htln "( sport = :$1 )" 2>/dev/null)" ]
}

# A port nothing listens on and no earlier call of this run handed out
# (a server set up but not yet started does not listen yet): the ports
# given are noted in WORK/ports.given, since callers run us in a subshell.
free_port() {
	local p given=${WORK:?}/ports.given
	touch "$given"
	for _ in $(seq 1 200); do
		p=$((20000 + RANDOM % 30000))
		port_listening "$p" && continue
		grep -qx "$p" "$given" && continue
		echo "$p" >>"$given"
		echo "$p"
		return 0
	done
	die "no free port"
}

# Waits (bounded) until port $1 greets with a line starting with $3 and
# the master $2 is alive.
wait_greeting() {
	local port=$1 pid=$2 want=$3
	for _ in $(seq 1 300); do
		kill -0 "$pid" 2>/dev/null || return 1
		if port_listening "$port" &&
			timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port; head -c ${#want} <&3" 2>/dev/null |
			grep -qF -- "$want"; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# Stops one master by its pid: SIGTERM, bounded wait, SIGKILL if ignored.
stop_server() {
	local pid=$1
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		say "master $pid ignored SIGTERM; SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
}

stop_all() {
	local s
	for s in "${!S_PID[@]}"; do
		stop_server "${S_PID[$s]}"
		unset "S_PID[$s]"
	done
}

make_cert() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-days 30 -subj /CN=bench.localdomain -keyout "$WORK/key.pem" \
		-out "$WORK/cert.pem" >/dev/null 2>&1 || die "openssl req failed"
	chmod 644 "$WORK/cert.pem"
	chmod 600 "$WORK/key.pem"
}

# Password hashes ({SHA512-CRYPT}, 5000 rounds) for the users $@ (local
# parts at bench.test), made once: every server gets the same strings.
# Passwords are "pw-" and the local part.
make_hashes() {
	local u
	: >"$WORK/hashes"
	for u in "$@"; do
		printf '%s@bench.test {SHA512-CRYPT}%s\n' "$u" \
			"$(openssl passwd -6 "pw-$u")" >>"$WORK/hashes"
	done
}

# A fresh copy of the template's Maildir $2 (or all) into server $1's base.
reset_mail() {
	local base=${S_MAIL[$1]} what=${2:-}
	if [ -n "$what" ]; then
		rm -rf "${base:?}/bench.test/$what"
		cp -a "$TEMPLATE/bench.test/$what" "$base/bench.test/$what"
		chown -R "$BUID:$BGID" "$base/bench.test/$what"
	else
		rm -rf "${base:?}"
		mkdir -p "$base"
		cp -a "$TEMPLATE/bench.test" "$base/"
		chown -R "$BUID:$BGID" "$base"
	fi
	sync
}

# ---- Postfix ----

# Installs Debian's postfix when missing, without configuring or starting
# a system MTA.
install_postfix() {
	if [ -x /usr/lib/postfix/sbin/master ] && [ -x /usr/sbin/smtp-sink ]; then
		return
	fi
	say "installing Debian's postfix (no system MTA configuration)"
	echo "postfix postfix/main_mailer_type select No configuration" |
		debconf-set-selections
	DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -q \
		--no-install-recommends postfix >"$WORK/apt.log" 2>&1 ||
		{ tail -20 "$WORK/apt.log" >&2; die "apt-get install postfix failed"; }
	# "No configuration" writes no main.cf, so no system instance can start;
	# if the package started one anyway, stop it and keep it off.
	if [ -f /etc/postfix/main.cf ] && postfix status >/dev/null 2>&1; then
		postfix stop || true
	fi
	if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
		systemctl disable --now postfix >/dev/null 2>&1 || true
	else
		update-rc.d postfix disable >/dev/null 2>&1 || true
	fi
}

# Writes a private Postfix into $WORK/$1 (etc/, queue/, data/) with smtpd
# on 127.0.0.1:$2: Debian's defaults plus only what a loopback instance
# needs (no DNS, no peer name look-up, no chroot tree, no local domain),
# then the main.cf lines $3; checks it with "postfix check". With
# LOGFILES=1 it logs to $WORK/$1.log.
write_postfix() {
	local name=$1 port=$2 extra=$3 dir=$WORK/$1 log=""
	mkdir -p "$dir/etc" "$dir/queue" "$dir/data"
	chown postfix: "$dir/data"
	if [ "$LOGFILES" = 1 ]; then
		log="maillog_file = $WORK/$name.log
maillog_file_prefixes = $WORK"
		touch "$WORK/$name.log"
	fi
	cat >"$dir/etc/main.cf" <<CF
# Private Postfix for $BENCH_NAME: Debian's defaults, plus what a loopback
# instance needs. Nothing else is tuned.
compatibility_level = 3.6
queue_directory = $dir/queue
data_directory = $dir/data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = bench-postfix.localdomain
mydomain = localdomain
myorigin = \$myhostname
mydestination =
relay_domains =
local_recipient_maps =
alias_maps =
alias_database =
mynetworks = 127.0.0.0/8
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
biff = no
smtpd_relay_restrictions = permit_mynetworks reject_unauth_destination
$log
$extra
CF
	# Debian's master.cf without chroot (no chroot tree to populate) and
	# with smtpd on our loopback port instead of port 25.
	awk -v port="$port" '
		/^[#[:space:]]/ || NF < 8 { print; next }
		$1 == "smtp" && $2 == "inet" {
			print "127.0.0.1:" port "\tinet\tn\t-\tn\t-\t-\tsmtpd"; next }
		{ $5 = "n"; print }
	' /etc/postfix/master.cf >"$dir/etc/master.cf"
	# Postfix commands print errors only on a tty (else syslog): give one.
	script -qec "postfix -c '$dir/etc' check" /dev/null </dev/null \
		>"$WORK/$name-check.log" 2>&1 ||
		{ cat "$WORK/$name-check.log" >&2; die "postfix check failed"; }
}

# ---- Dovecot ----

# Writes a private Dovecot for server $1 (a name starting with "dovecot";
# "-reuse" in it: login processes that serve many connections, Dovecot's
# documented high-performance mode) serving protocol $2 (pop3 or imap) on
# a free port, with Debian's defaults (nothing from /etc/dovecot) plus
# what a loopback instance on these Maildirs needs; $3: more settings.
setup_dovecot() {
	local name=$1 proto=$2 extra=${3:-} dir=$WORK/$1 port base log=""
	port=$(free_port)
	base=$WORK/mail/$name
	mkdir -p "$dir/run" "$dir/state"
	S_PORT[$name]=$port
	S_MAIL[$name]=$base
	reset_mail "$name"
	awk -v uid="$BUID" -v gid="$BGID" -v base="$base" '{
		split($1, a, "@")
		printf "%s:%s:%d:%d::%s/%s/%s::\n", $1, $2, uid, gid, base, a[2], a[1]
	}' "$WORK/hashes" >"$dir/users"
	chown dovecot: "$dir/users" 2>/dev/null || true
	chmod 600 "$dir/users"
	[ "$LOGFILES" = 1 ] && log="log_path = $WORK/$name.log"
	cat >"$dir/dovecot.conf" <<CF
# Private Dovecot for $BENCH_NAME: Dovecot's defaults plus what a loopback
# $proto-only instance on these Maildirs needs.
base_dir = $dir/run
state_dir = $dir/state
instance_name = surel-bench-$name-$$
protocols = $proto
listen = 127.0.0.1
ssl = yes
ssl_cert = <$WORK/cert.pem
ssl_key = <$WORK/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain
first_valid_uid = $BUID
mail_location = maildir:~
$extra
$log
passdb {
  driver = passwd-file
  args = scheme=SHA512-CRYPT $dir/users
}
userdb {
  driver = passwd-file
  args = $dir/users
}
service $proto-login {
  inet_listener $proto {
    port = $port
  }
  inet_listener ${proto}s {
    port = 0
  }
$(case $name in *-reuse*) printf '  service_count = 0\n  process_min_avail = %s\n' "$(nproc)" ;; esac)
}
CF
}

# Starts Dovecot $1 and waits for greeting $2 on its port.
start_dovecot() {
	local name=$1
	/usr/sbin/dovecot -c "$WORK/$name/dovecot.conf" -F </dev/null \
		>>"$WORK/$name.out" 2>&1 &
	S_PID[$name]=$!
	wait_greeting "${S_PORT[$name]}" "${S_PID[$name]}" "$2" ||
		{ cat "$WORK/$name.out" >&2; return 1; }
}

# ---- surel ----

# Builds the surel programs $@ (daemons, relative to the build directory)
# into $SUREL_BUILD and installs them; SUREL_DAEMONS is where they are.
build_surel() {
	local inst=$SUREL_BUILD/inst
	mkdir -p "$SUREL_BUILD"
	{
		if [ ! -x "$SRC/configure" ] || [ "$SRC/configure.ac" -nt "$SRC/configure" ]; then
			(cd "$SRC" && autoreconf -fi)
		fi
		if [ ! -f "$SUREL_BUILD/Makefile" ] ||
			[ "$SRC/configure" -nt "$SUREL_BUILD/config.status" ] ||
			! grep -qx "prefix = $inst" "$SUREL_BUILD/Makefile"; then
			(cd "$SUREL_BUILD" && "$SRC/configure" -q --prefix="$inst")
		fi
		make -C "$SUREL_BUILD" -j2 master/master smtpd/smtpd qmgr/qmgr \
			delivery/local/local auth/authd "$@" &&
			make -C "$SUREL_BUILD" install-pkglibexecPROGRAMS
	} >"$WORK/surel-build.log" 2>&1 || return 1
	SUREL_DAEMONS=$inst/libexec/surel
	[ -x "$SUREL_DAEMONS/authd" ]
}

# Writes a private surel for server $1 (started as root like the Dovecot
# one; its daemons run as USER_NAME) whose master.cf has the service line
# $2 with PORT in it replaced by a free port; $3: more main.cf lines.
setup_surel() {
	local name=$1 service=$2 extra=${3:-} dir=$WORK/$1 port smtp_port base log=""
	port=$(free_port)
	smtp_port=$(free_port)
	base=$WORK/mail/$name
	mkdir -p "$dir/etc" "$dir/queue"
	chown "$BUID:$BGID" "$dir/queue"
	S_PORT[$name]=$port
	S_MAIL[$name]=$base
	reset_mail "$name"
	awk '{ split($1, a, "@"); print $1, a[2] "/" a[1] "/" }' "$WORK/hashes" >"$dir/etc/vmailbox"
	awk '{ print $1 ":" $2 "::::::" }' "$WORK/hashes" >"$dir/etc/users"
	chown "$BUID:$BGID" "$dir/etc/users"
	chmod 600 "$dir/etc/users"
	if [ "$LOGFILES" = 1 ]; then
		log="maillog_file = $WORK/$name.log"
		touch "$WORK/$name.log"
		chown "$BUID:$BGID" "$WORK/$name.log"
	fi
	cat >"$dir/etc/main.cf" <<CF
# Private surel for $BENCH_NAME.
queue_directory = $dir/queue
daemon_directory = $SUREL_DAEMONS
mail_owner = $USER_NAME
myhostname = bench-surel.localdomain
virtual_mailbox_domains = bench.test
virtual_mailbox_base = $base
virtual_mailbox_maps = texthash:$dir/etc/vmailbox
auth_user_maps = passwd-file:$dir/etc/users
smtpd_tls_cert_file = $WORK/cert.pem
smtpd_tls_key_file = $WORK/key.pem
disable_plaintext_auth = no
$extra
$log
CF
	cat >"$dir/etc/master.cf" <<CF
# service          type  private unpriv chroot wakeup maxproc command
127.0.0.1:$smtp_port inet  n     -      n      -      -       smtpd
qmgr               unix  n       -      n      300    1       qmgr
local              unix  -       -      n      -      -       local
auth               unix  -       -      n      -      1       authd
${service//PORT/$port}
CF
}

# Starts surel $1 and waits for greeting $2 on its port.
start_surel() {
	local name=$1
	"$SUREL_DAEMONS/master" -c "$WORK/$name/etc" -f </dev/null \
		>>"$WORK/$name.out" 2>&1 &
	S_PID[$name]=$!
	wait_greeting "${S_PORT[$name]}" "${S_PID[$name]}" "$2" ||
		{ cat "$WORK/$name.out" >&2; return 1; }
}

# ---- measuring ----

# Percentage of the machine's CPU busy over one second while nothing of
# ours runs.
background_busy() {
	local a b
	a=$(head -1 /proc/stat)
	sleep 1
	b=$(head -1 /proc/stat)
	awk -v a="$a" -v b="$b" 'BEGIN {
		split(a, x); split(b, y)
		for (i = 2; i <= 9; i++) { d = y[i] - x[i]; tot += d; if (i != 5 && i != 6) busy += d }
		printf "%.0f", (tot > 0 ? 100 * busy / tot : 0)
	}'
}

quiet_machine() {
	local bg waited=1
	bg=$(background_busy)
	while [ "$bg" -gt "$QUIET_PCT" ] && [ "$waited" -lt "$QUIET_WAIT" ]; do
		bg=$(background_busy)
		waited=$((waited + 1))
	done
	echo "$bg"
}

field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; }

# Whether test $1 is in TESTS.
tested() {
	case " $TESTS " in *" $1 "*) return 0 ;; esac
	return 1
}

# The median repetition (by field $3, ascending) of server $1, test $2 in
# ROWS (lines "server TAB test TAB rep TAB fields TAB check"): its fields
# and check.
median_row() {
	local server=$1 test=$2 key=$3
	awk -F'\t' -v s="$server" -v t="$test" -v key="$key" '
		function f(name, str,   m) {
			if (match(str, "(^| )" name "=[^ ]*")) {
				m = substr(str, RSTART, RLENGTH); sub(/^ /, "", m)
				return substr(m, length(name) + 2)
			}
			return ""
		}
		$1 == s && $2 == t { n++; v[n] = f(key, $4) + 0; line[n] = $4 "\t" $5 }
		END {
			if (n == 0) exit
			for (i = 1; i <= n; i++) idx[i] = i
			for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
				if (v[idx[j]] < v[idx[i]]) { x = idx[i]; idx[i] = idx[j]; idx[j] = x }
			print line[idx[int((n + 1) / 2)]]
		}' "$ROWS"
}

# One row of a ratio table: for each "a/b" of $1, field $3 of test $2
# (rows of test ${2%%-*} in TESTS), a's median over b's.
ratio_row() {
	local pairs=$1 t=$2 f=$3 p x y out="| $4 |"
	tested "${t%%-*}" || return 0
	for p in $pairs; do
		x=$(median_row "${p%/*}" "$t" "$f")
		y=$(median_row "${p#*/}" "$t" "$f")
		if [ -z "$x" ] || [ -z "$y" ]; then
			out+=" - |"
			continue
		fi
		out+=$(awk -v x="$(field "$f" "${x%%$'\t'*}")" -v y="$(field "$f" "${y%%$'\t'*}")" \
			'BEGIN { printf " %.2fx |", (y > 0 ? x / y : 0) }')
	done
	echo "$out"
}

# The machine, versions and commit, for the head of a report; $1 the
# load average at the start, $2 what surel is compared with (default:
# Dovecot's version).
machine_line() {
	local rev dirty=""
	echo "Machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)," \
		"$(free -g | awk '/^Mem:/ {print $2}') GiB RAM, kernel $(uname -r)," \
		"work dir on $(df -T "$WORK" | awk 'NR == 2 {print $2 " (" $1 ")"}'),"\
		"load average at start $1."
	rev=$(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo '?')
	[ -n "$(git -C "$SRC" status --porcelain 2>/dev/null)" ] && dirty=" plus uncommitted changes"
	echo "${2:-Dovecot $(/usr/sbin/dovecot --version 2>/dev/null | cut -d' ' -f1) (Debian package)};" \
		"surel at commit $rev$dirty."
}

# Replaces the section between "<!-- bench-$2:begin -->" and its end
# marker of file $1 (appended when missing; "-": none) with what the
# command $3 prints, keeping everything else.
write_results() {
	local file=$1 marker=$2 gen=$WORK/generated.md
	"$3" >"$gen"
	cat "$gen"
	[ "$file" = "-" ] && return
	[ -f "$file" ] || printf '# surel benchmark results\n' >"$file"
	if ! grep -q "^<!-- bench-$marker:begin -->\$" "$file"; then
		printf '\n<!-- bench-%s:begin -->\n<!-- bench-%s:end -->\n' "$marker" "$marker" >>"$file"
	fi
	awk -v gen="$gen" -v b="<!-- bench-$marker:begin -->" -v e="<!-- bench-$marker:end -->" '
		$0 == b { print; while ((getline l < gen) > 0) print l; skip = 1; next }
		$0 == e { skip = 0 }
		!skip { print }
	' "$file" >"$file.tmp" && mv "$file.tmp" "$file"
	say "wrote $file"
}
