# bash completion for zdedup-loader(8).
#
# Commands and each command's options are read from the loader's own
# --help, so that the completion follows the installed version; policies,
# modes, cgroups (under /sys/fs/cgroup), systemd units and .bpf.o/.conf
# files are completed where the command takes them (estimate: any number
# of cgroups, and comma-separated ones after --group).

_zdedup_loader_commands()
{
	"$1" --help 2>/dev/null | awk '
		/^Commands:/ { on = 1; next }
		/^[^ ]/ { on = 0 }
		on && /^  [a-z]/ { print $1 }'
}

_zdedup_loader_options()
{
	{ "$1" "$2" --help 2>/dev/null; echo --help; } | grep -o -- '--[a-z][a-z-]*' | sort -u
}

_zdedup_loader_cgroups()
{
	local cur=$1 root=/sys/fs/cgroup
	[ -d "$root" ] || return
	if [[ $cur == /* ]]; then
		compgen -d -- "$cur"
	else
		(cd "$root" 2>/dev/null && compgen -d -- "$cur")
	fi
}

_zdedup_loader()
{
	local cur prev words cword
	_init_completion || return
	local prog=${words[0]} cmd="" i
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		-*) ;;
		*) cmd=${words[i]}; break ;;
		esac
	done

	case $prev in
	--unit)
		COMPREPLY=($(compgen -W "$(systemctl list-units --all --plain \
			--no-legend --type=service,slice,scope 2>/dev/null |
			awk '{ print $1 }')" -- "$cur"))
		return ;;
	--pid)
		COMPREPLY=($(compgen -W "$(ps -e -o pid= 2>/dev/null)" -- "$cur"))
		return ;;
	group | --max-pages | --timeout)
		return ;;
	--group)	# estimate: cgroups separated by commas
		COMPREPLY=($(_zdedup_loader_cgroups "${cur##*,}"))
		[[ $cur == *,* ]] && COMPREPLY=("${COMPREPLY[@]/#/${cur%,*},}")
		compopt -o nospace
		return ;;
	esac

	if [ -z "$cmd" ]; then
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "--help --verbose --json --version" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$(_zdedup_loader_commands "$prog")" -- "$cur"))
		fi
		return
	fi
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$(_zdedup_loader_options "$prog" "$cmd")" -- "$cur"))
		return
	fi
	# Words after the command that are not options: what the command takes.
	local nargs=0
	for ((i = i + 1; i < cword; i++)); do
		case ${words[i]} in
		--unit | --pid) ((i++, nargs++)) ;;	# in place of a cgroup path
		--window | --min-hit-rate | --backoff | --group | --max-pages | --timeout) ((i++)) ;;
		-*) ;;
		*) ((nargs++)) ;;
		esac
	done
	case $cmd in
	load)
		if ((nargs == 0)); then
			COMPREPLY=($(compgen -W "memcg tenant adaptive" -- "$cur"))
			_filedir 'bpf.o'
		fi ;;
	apply)
		((nargs == 0)) && _filedir conf ;;
	set)
		if ((nargs == 0)); then
			COMPREPLY=($(_zdedup_loader_cgroups "$cur"))
			compopt -o nospace
		elif ((nargs == 1)); then
			COMPREPLY=($(compgen -W "off private group" -- "$cur"))
		fi ;;
	unset | get)
		if ((nargs == 0)); then
			COMPREPLY=($(_zdedup_loader_cgroups "$cur"))
			compopt -o nospace
		fi ;;
	estimate)	# any number of cgroups
		COMPREPLY=($(_zdedup_loader_cgroups "$cur"))
		compopt -o nospace ;;
	status)
		;;
	esac
} &&
	complete -F _zdedup_loader zdedup-loader
