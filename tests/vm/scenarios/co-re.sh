# The policies as built for the other kernel base (6.12's build/bpf/ on
# the 7.3 kernel), registered here with bpftool: CO-RE relocates them to
# this kernel's layout.  Run by check.sh as the suite "co_re" when
# scripts/vm-run.sh found them (/opt/zdedup/bpf-other/).  TAP.
BPF=/opt/zdedup/bpf-other
DBG=/sys/kernel/debug/zswap
n=0
echo "TAP version 13"
echo "# built for: $(cat $BPF/BASE 2>/dev/null)"
for name in memcg tenant adaptive; do
	o=$BPF/$name.bpf.o
	pin=/sys/fs/bpf/co_re_$name
	n=$((n + 1))
	if [ ! -f "$o" ]; then
		echo "not ok $n - $name: no $o"
		continue
	fi
	mkdir -p "$pin"
	out=$(/opt/zdedup/bin/bpftool struct_ops register "$o" "$pin" 2>&1)
	rc=$?
	policy=$(cat $DBG/dedup_policy)
	echo "$out" | sed 's/^/# /'
	rm -rf "$pin"
	# the link goes with its last pin; the policy with its link
	i=0
	while [ "$(cat $DBG/dedup_policy)" != builtin ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	after=$(cat $DBG/dedup_policy)
	if [ $rc = 0 ] && [ "$policy" = "$name" ] && [ "$after" = builtin ]; then
		echo "ok $n - $name: registered ($policy), detached ($after)"
	else
		echo "not ok $n - $name: rc $rc, policy '$policy', after unpin '$after'"
	fi
done
echo "1..$n"
