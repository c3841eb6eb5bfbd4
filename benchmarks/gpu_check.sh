#!/usr/bin/env bash
# GPU check (issues 18, 26): install the project, time the meta-training step (MAML, Meta-ticket,
# Meta-ticket+BOIL) and evaluation on mlp, conv4, resnet12 and wrn28-10 in fp32 and bf16 with
# peak GPU memory, then train the demo on the GPU, interrupt it (Ctrl-C), resume it and
# meta-test it; then the per-task loop against batched, and what is left of the budget on
# Omniglot 20-way 5-shot at MLP width 8 (MAML, Meta-ticket: the step rate of the paper's run). Plain text output, at most 10 minutes: every stage runs under a time limit cut
# to what is left of the budget, so one that hangs cannot take the rest down.
#
# From the repository root, on a machine with a CUDA GPU:
#     MT_WHEELS=.whl bash benchmarks/gpu_check.sh    # offline: installs from ./.whl first
#     bash benchmarks/gpu_check.sh                   # with a package index
#     bash benchmarks/gpu_check.sh --cpu             # smoke test on the CPU, tiny settings, no
#                                                    # memory columns, no install unless
#                                                    # MT_WHEELS is set
#                                                    # (tests/test_gpu_check.py)
# Environment: PYTHON (default python3), MT_GPU_BUDGET (seconds, default 570); the demo's run
# folder goes to a new temporary folder (under $TMPDIR).
#
# The target has Python 3.12 and torch, with the packages of benchmarks/gpu_preinstalled.txt but
# not pydantic nor a build backend. `bash benchmarks/gpu_wheels.sh .whl` prepares the folder
# (the five project wheels, built here, and the third-party ones the target lacks) that the
# install stage takes with `pip install --no-index --no-deps`; `--rehearse` tries it here in a
# venv that holds only what the target has (benchmarks/README.md).
#
# Cases: 5-way 5-shot, 5 queries per class, the paper's meta-batch 4, one second-order inner
# step (evaluation: 3 graph-free steps); mlp on its own input, Omniglot's 1x28x28; conv4,
# resnet12 and wrn28-10 on 3x84x84. Random tensors as tasks (benchmarks/_common.py).

set -u
exec 2>&1 # one stream, in order, for the report
SCRIPT=$(realpath "$0")
[[ -n ${MT_WHEELS:-} ]] && MT_WHEELS=$(realpath "$MT_WHEELS")
cd "$(dirname "$SCRIPT")/.."
export PYTHONUNBUFFERED=1 COLUMNS=120
PY=${PYTHON:-python3}
BUDGET=${MT_GPU_BUDGET:-570}
MODE=gpu STAGE=()
while (($#)); do
    case $1 in
    --cpu) MODE=cpu ;;
    --stage) shift && STAGE=("$@") && break ;; # internal: FUNCTION [ARGS], under a time limit
    *) echo "usage: bash benchmarks/gpu_check.sh [--cpu]" && exit 2 ;;
    esac
    shift
done

METHODS=(maml metaticket metaticket+boil)
if [[ $MODE == cpu ]]; then
    DEVICE=cpu SMALL=(mlp)
    STEP=(--repeats 2 --warmup 1 --memory-steps 0) # fresh processes: seconds each
    EVAL=(--episodes 2 --warmup 1 --memory-episodes 0)
    DEMO=(--iterations 20 --set val_interval=5 --set val_episodes=5 --set test_episodes=5)
    TEST_EPISODES=5
else
    DEVICE=cuda SMALL=(mlp conv4-84 resnet12-84-5shot)
    STEP=(--repeats 20 --warmup 3 --max-seconds 15 --memory-steps 2)
    EVAL=(--episodes 20 --warmup 3 --memory-episodes 2)
    DEMO=(--iterations 400 --set val_interval=100)
    TEST_EPISODES=1000
fi
WRN_STEP=(--cases wrn28-10-84 --methods "${METHODS[@]}" --repeats 3 --warmup 1 --memory-steps 1)
WRN_EVAL=(--cases wrn28-10-84 --episodes 4 --warmup 1 --memory-episodes 1)

# the stages, each run by `stage` in a shell of its own -----------------------------------------

install() {
    export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PIP_BREAK_SYSTEM_PACKAGES=1
    local pip=("$PY" -m pip install -q)
    # into the interpreter's environment, or the user's where that is not writable
    "$PY" -c 'import os, sysconfig; exit(not os.access(sysconfig.get_path("purelib"), os.W_OK))' ||
        pip+=(--user)
    if [[ -n ${MT_WHEELS:-} ]]; then # no index, no build: every wheel is in the folder
        "${pip[@]}" --no-index --no-deps --find-links "$MT_WHEELS" -r "$MT_WHEELS/requirements.txt"
    else
        "${pip[@]}" packages/metaticket-{core,datasets,models,methods} plugins/metaticket-metasgd
    fi && "$PY" -m metaticket_core --version
}

machine() {
    "$PY" - "$DEVICE" <<'EOF'
import platform, sys
import torch

print(f"python {platform.python_version()}, torch {torch.__version__}, CUDA {torch.version.cuda}")
if sys.argv[1] == "cuda":
    if not torch.cuda.is_available():
        sys.exit("no CUDA device (bash benchmarks/gpu_check.sh --cpu is the CPU smoke test)")
    p = torch.cuda.get_device_properties(0)
    bf16 = "yes" if torch.cuda.is_bf16_supported() else "no"
    print(f"{p.name}, {p.total_memory / 2**30:.0f} GiB, compute capability {p.major}.{p.minor}, "
          f"bf16 {bf16}")
EOF
}

# one precision per stage: should one fail (bf16 kernels, memory), the other is still measured
steps() { # steps PRECISION
    "$PY" benchmarks/step_time.py --device "$DEVICE" --precision "$1" --cases "${SMALL[@]}" \
        --methods "${METHODS[@]}" "${STEP[@]}"
}
evaluation() { # evaluation PRECISION
    "$PY" benchmarks/eval_throughput.py --device "$DEVICE" --precision "$1" --cases "${SMALL[@]}" \
        "${EVAL[@]}"
}
wrn_steps() { "$PY" benchmarks/step_time.py --device "$DEVICE" --precision "$1" "${WRN_STEP[@]}"; }
wrn_evaluation() {
    "$PY" benchmarks/eval_throughput.py --device "$DEVICE" --precision "$1" "${WRN_EVAL[@]}"
}

# batched=auto batches every case on a GPU: the per-task loop against it, to check that rule
batched() {
    "$PY" benchmarks/step_time.py --device "$DEVICE" --precision fp32 --cases mlp conv4 \
        conv4-84 --methods maml metaticket --batched --repeats 10 --warmup 2 --memory-steps 0
}

# the spare budget on the paper: Omniglot 20-way 5-shot at MLP width 8, MAML then Meta-ticket
# for half of SECONDS each (Ctrl-C then), printing the step rate from the run's start to the
# interrupt and what the paper's 30,000 iterations would take at it
paper() { # paper SECONDS
    local root=${MT_OMNIGLOT:-../shared/data/omniglot} each=$((($1 - 10) / 2)) runs method
    [[ -d $root ]] || root=shared/data/omniglot
    if [[ ! -d $root ]]; then
        echo "no Omniglot at ../shared/data/omniglot nor shared/data/omniglot (MT_OMNIGLOT=...)"
        return 1
    fi
    runs=$(mktemp -d)
    for method in maml metaticket; do
        MT_RUNS_DIR=$runs timeout -s INT -k 10 "$each" "$PY" -m metaticket_core train \
            --preset "omniglot-20w5s-$method" --data-root "$root" --device "$DEVICE" \
            --set model_options.width=8 --iterations 30000 --run-id "$method" 2>&1 | {
            local line start="" steps=""
            while IFS= read -r line; do # the run starts once its data and model are built
                [[ -z $start && $line == "run $method in "* ]] && start=$(date +%s.%N)
                [[ $line =~ Interrupted\ at\ iteration\ ([0-9]+) ]] && steps=${BASH_REMATCH[1]}
            done
            if [[ -z $start || -z $steps || $steps == 0 ]]; then
                echo "$method: no iteration done in $each s"
            else
                awk -v m="$method" -v n="$steps" -v t="$(date +%s.%N)" -v s="$start" 'BEGIN {
                    r = n / (t - s)
                    printf "%s: %d iterations in %.0f s, %.2f it/s: 30,000 would take %.1f h\n",
                        m, n, t - s, r, 30000 / r / 3600
                }'
            fi
        }
    done
}

# the demo on the device, Ctrl-C once its first checkpoint exists, resumed; then mt test in bf16
demo() {
    local runs pid
    runs=$(mktemp -d)
    export MT_RUNS_DIR=$runs
    set -m # otherwise a script's background job ignores SIGINT
    "$PY" -m metaticket_core train --device "$DEVICE" --run-id gpu-demo "${DEMO[@]}" &
    pid=$!
    set +m
    trap 'kill -INT $pid 2>/dev/null' TERM # the stage's time limit reaches the job too
    until [[ -e $runs/gpu-demo/checkpoints/last.safetensors ]] || ! kill -0 $pid 2>/dev/null; do
        sleep 0.2
    done
    kill -INT $pid 2>/dev/null
    wait $pid
    echo "(the interrupted run exited with status $?; 1 expected)"
    "$PY" -m metaticket_core train --resume gpu-demo --device "$DEVICE" &&
        "$PY" -m metaticket_core test gpu-demo --precision bf16 --episodes "$TEST_EPISODES"
}

if ((${#STAGE[@]})); then
    "${STAGE[@]}"
    exit
fi

# stage TITLE LIMIT FUNCTION [ARGS]: FUNCTION in a shell of its own, stopped after LIMIT
# seconds or what is left of the budget, whichever comes first; its exit status
stage() {
    local title=$1 limit=$2 start=$SECONDS rc flags=()
    shift 2
    local left=$((BUDGET - SECONDS))
    ((limit > left)) && limit=$left
    echo
    echo "== $title (limit $limit s, at $SECONDS s)"
    if ((limit < 10)); then
        echo "skipped: the $BUDGET s budget is spent"
        return 1
    fi
    [[ $MODE == cpu ]] && flags=(--cpu)
    timeout -k 5 "$limit" bash "$SCRIPT" "${flags[@]}" --stage "$@"
    rc=$?
    if ((rc == 124 || rc == 137)); then
        echo "stopped: over its $limit s limit"
    elif ((rc != 0)); then
        echo "failed: exit status $rc"
    fi
    echo "-- $title: $((SECONDS - start)) s"
    return $rc
}

echo "metaticket GPU check ($MODE), $(date -u '+%Y-%m-%d %H:%M UTC'), commit" \
    "$(git rev-parse --short HEAD 2>/dev/null)"
if [[ $MODE == gpu || -n ${MT_WHEELS:-} ]]; then
    stage "install (pip)" 120 install || exit 1
fi
stage "machine" 45 machine || exit 1
for precision in fp32 bf16; do
    stage "meta-training step, $precision: median ms, peak MiB (benchmarks/step_time.py)" 90 \
        steps $precision
done
for precision in fp32 bf16; do
    stage "evaluation, $precision: episodes/s, peak MiB (benchmarks/eval_throughput.py)" 60 \
        evaluation $precision
done
stage "demo: mt train, Ctrl-C, mt train --resume, mt test --precision bf16" 150 demo
if [[ $MODE == gpu ]]; then # the heaviest last, so that nothing waits on them; bf16 first
    stage "per-task loop against batched, fp32 (benchmarks/step_time.py --batched)" 75 batched
    stage "wrn28-10 step, bf16" 75 wrn_steps bf16
    stage "wrn28-10 step, fp32" 75 wrn_steps fp32
    stage "wrn28-10 evaluation, bf16" 45 wrn_evaluation bf16
    stage "wrn28-10 evaluation, fp32" 45 wrn_evaluation fp32
    left=$((BUDGET - SECONDS - 5)) # the spare minutes, on the paper
    stage "paper: Omniglot 20-way 5-shot, MLP width 8, MAML and Meta-ticket" "$left" \
        paper "$left"
fi
echo
echo "gpu_check: done in $SECONDS s"
