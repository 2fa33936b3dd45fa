#!/bin/sh
# Records what `kubectl kustomize` (kubectl v1.32, kustomize v5.5) does with each case:
# `kubectl.yaml` when it renders, `kubectl.error` when it fails. kiln's tests compare against
# these files; rerun this after changing a case. Run from this directory.
set -u
CASES="resources namespace names labels patches smp-directives images-replicas generators/base
generators/overlay replacements-vars components order-metadata fifo load-restrictor/overlay
offline/remote-base offline/helm-chart offline/generator-plugin offline/krm-function
broken/cycle/a broken/missing-resource broken/unknown-field broken/patch-target broken/escape"
for d in $CASES; do
  if out=$(kubectl kustomize "$d" 2>/tmp/kubectl-kustomize.err); then
    printf '%s\n' "$out" > "$d/kubectl.yaml"
    rm -f "$d/kubectl.error"
  else
    sed -e 's/^E[0-9]* [0-9:.]* *[0-9]* run.go:[0-9]*\] //' -e "s|$(pwd)/||g" /tmp/kubectl-kustomize.err \
      | grep -v '^# Warning' > "$d/kubectl.error"
    rm -f "$d/kubectl.yaml"
  fi
done
