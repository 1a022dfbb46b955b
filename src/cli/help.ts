/** --help texts, with examples, one per command. */
export const HELP: Record<string, string> = {
  main: `usage: shadowtap <command> [options]

Copies production traffic into an isolated shadow network, translating
addresses on the way, with DPDK worker cores doing the packet work.

commands:
  run            start the data plane and the admin API (Ctrl-C stops)
  check-config   validate a configuration file and exit
  doctor         check this host (DPDK, hugepages, IOMMU, vfio, NICs, firmware)
  version        print versions
  help [cmd]     show help for a command

Run \`shadowtap <command> --help\` for a command's options.

examples:
  shadowtap run                              # the embedded demo
  shadowtap run --config /etc/shadowtap.yaml
  shadowtap check-config /etc/shadowtap.yaml
  shadowtap doctor --for=pci
`,
  run: `usage: shadowtap run [--config FILE] [--log-format json|pretty] [--log-level LEVEL]
                     [--max-capture-mb N]

Starts the data plane under supervision (restarted with backoff if it dies)
and the admin API (/healthz, /readyz, /metrics, /v1/status).

Without --config the embedded demo runs: a generated capture replayed in a
loop as production traffic into a sink, copies translated (10.0.0.0/16 ->
10.99.0.0/16, fd00::/16 -> fd99::/16) and written to <run_dir>/shadow.pcap,
plus the tap interface st-shadow0 when running as root.

options:
  -c, --config FILE       YAML configuration (default: the embedded demo)
      --log-format FMT    json (default) or pretty
      --log-level LEVEL   fatal, error, warn, info, debug, trace, silent
                          (default: the config's log.level)
      --max-capture-mb N  stop when a shadow capture file (net_pcap tx_pcap)
                          passes N MiB; 0 = no limit (default 2048). The demo
                          replays at 2,000 packets/s (ports[].rx_pps), a few
                          hundred KB/s of copies.
  -h, --help              this text

exit status: 0 after a clean stop (SIGINT/SIGTERM), 1 if the data plane or
the API cannot start, 2 for an invalid configuration or usage, 3 when a
shadow capture reached --max-capture-mb (the run stopped cleanly).

examples:
  shadowtap run
  shadowtap run --log-format pretty
  shadowtap run -c site.yaml --log-level debug
  curl -s http://127.0.0.1:9465/metrics | grep shadowtap_mirror
`,
  'check-config': `usage: shadowtap check-config FILE

Validates FILE as the data plane would see it: the schema, the semantic
rules (prefixes, ports, egress), the CPUs and capture files on this host.
Prints every problem with its field path and line.

exit status: 0 valid, 1 invalid, 2 usage error.

examples:
  shadowtap check-config /etc/shadowtap.yaml
  shadowtap check-config site.yaml && shadowtap run -c site.yaml
`,
  version: `usage: shadowtap version

Prints the shadowtap and Node.js versions, and the native data plane's
(which names the DPDK release it was built against), or why it cannot load.

example:
  shadowtap version
`,
};
