# SPDX-License-Identifier: GPL-3.0-or-later
# bash completion for fpinspect(1). Installed as
# $(datadir)/bash-completion/completions/fpinspect; to try it from a build
# tree: . completion/fpinspect.bash
#
# fpinspect attach PID [OPTIONS] [COMMAND [ARG...]]
# fpinspect core CORE [EXE] [OPTIONS] [COMMAND [ARG...]]
#   OPTIONS: --json --stats --debug-file FILE --layout FILE
# fpinspect layout --from BINARY [-o FILE]
# fpinspect demo | help [COMMAND] | --help | --version

# PIDs of the processes fpinspect may attach to: the user's own (all for
# root). Go programs are not put first: telling them apart means reading
# every executable (its .go.buildinfo section), too slow for a TAB.
_fpinspect_pids()
{
	local p uid
	uid=$(id -u)
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		[ "$p" = "$$" ] && continue
		if [ "$uid" = 0 ] || [ -O "/proc/$p" ]; then
			echo "$p"
		fi
	done
}

_fpinspect()
{
	local cur=${COMP_WORDS[COMP_CWORD]}
	local prev=${COMP_WORDS[COMP_CWORD - 1]}
	local session="summary threads goroutines bt check dump profile help"
	local opts="--json --stats --debug-file --layout"
	local -a pos=()
	local i w cmd="" cmdi=0

	COMPREPLY=()
	if [ "$COMP_CWORD" -eq 1 ]; then
		COMPREPLY=($(compgen -W "attach core layout demo help --help --version" -- "$cur"))
		return
	fi
	# a FILE after an option that takes one
	case $prev in
	--debug-file | --layout | --from | -o)
		if [ "$prev" != -o ] || [ "${COMP_WORDS[1]}" = layout ]; then
			compopt -o filenames 2>/dev/null
			COMPREPLY=($(compgen -f -- "$cur"))
			return
		fi
		;;
	esac
	case ${COMP_WORDS[1]} in
	help | --help | -h)
		[ "$COMP_CWORD" -eq 2 ] && COMPREPLY=($(compgen -W "$session" -- "$cur"))
		return
		;;
	attach | core) ;;
	layout)
		COMPREPLY=($(compgen -W "--from -o --help" -- "$cur"))
		return
		;;
	*) return ;;
	esac

	# the words before the cursor, without --json/--stats (anywhere);
	# the session command is the first one after PID, or after CORE [EXE]
	for ((i = 2; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		case $w in
		--json | --stats) continue ;;
		--debug-file | --layout) i=$((i + 1)); continue ;;
		esac
		pos+=("$w")
		if [ -z "$cmd" ] && [ ${#pos[@]} -ge 2 ] && [[ " $session " == *" $w "* ]]; then
			cmd=$w
			cmdi=${#pos[@]}
		fi
	done

	if [ -z "$cmd" ]; then
		case ${COMP_WORDS[1]}:${#pos[@]} in
		attach:0)
			[[ $cur == -* ]] && COMPREPLY=($(compgen -W "$opts" -- "$cur")) ||
				COMPREPLY=($(compgen -W "$(_fpinspect_pids)" -- "$cur"))
			;;
		core:0 | core:1)
			if [[ $cur == -* ]]; then
				COMPREPLY=($(compgen -W "$opts" -- "$cur"))
			else
				# CORE, then EXE or a session command
				compopt -o filenames 2>/dev/null
				COMPREPLY=($(compgen -f -- "$cur"))
				[ ${#pos[@]} -eq 1 ] && COMPREPLY+=($(compgen -W "$session" -- "$cur"))
			fi
			;;
		*)
			COMPREPLY=($(compgen -W "$session $opts" -- "$cur"))
			;;
		esac
		return
	fi

	# arguments of the session command (pos[cmdi..] are its words so far)
	local nargs=$((${#pos[@]} - cmdi))
	case $cmd in
	bt)
		if [ "$prev" = "--unwinder" ]; then
			COMPREPLY=($(compgen -W "fp dwarf go both all" -- "$cur"))
		elif [ "$nargs" -eq 0 ] && [[ $cur != -* ]]; then
			# TARGET: all, gGOID or a TID
			COMPREPLY=($(compgen -W "all g" -- "$cur"))
			[ "${COMPREPLY[*]}" = g ] && compopt -o nospace 2>/dev/null
		else
			COMPREPLY=($(compgen -W "--unwinder $opts" -- "$cur"))
		fi
		;;
	check)
		COMPREPLY=($(compgen -W "--stacks $opts" -- "$cur"))
		;;
	dump)
		[ "$prev" = "--filter" ] || [ "$prev" = "--status" ] && return
		COMPREPLY=($(compgen -W "--system --group --filter --status $opts" -- "$cur"))
		;;
	goroutines)
		[ "$prev" = "--filter" ] || [ "$prev" = "--status" ] && return
		COMPREPLY=($(compgen -W "--group --filter --status $opts" -- "$cur"))
		;;
	profile)
		if [ "$prev" = "-o" ]; then
			# the format is the name's: FILE.pb.gz, FILE.folded, FILE.svg
			COMPREPLY=($(compgen -f -X '!*.@(pb.gz|folded|svg)' -- "$cur") $(compgen -d -- "$cur"))
		else
			COMPREPLY=($(compgen -W "-o $opts" -- "$cur"))
		fi
		;;
	help)
		if [ "$nargs" -eq 0 ] && [[ $cur != -* ]]; then
			COMPREPLY=($(compgen -W "$session quit" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$opts" -- "$cur"))
		fi
		;;
	*)
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
		;;
	esac
}
complete -F _fpinspect fpinspect
