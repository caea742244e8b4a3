#!/usr/bin/env bash
# Placeholder: filled in by the lead (installs Debian packages, npm deps, builds BPF objects).
exit 0
