/** --help texts, with examples, one per command. */
export const HELP: Record<string, string> = {
  main: `usage: shadowtap <command> [options]

Copies production traffic into an isolated shadow network, translating
addresses on the way, with DPDK worker cores doing the packet work.

commands:
  run            start the data plane and the admin API (Ctrl-C stops)
  check-config   validate a configuration file and exit (= config validate)

  talking to a running shadowtap (--url, --token, --json; see below):
  status         data-plane state, restarts, ports and their counters
  health         liveness and readiness
  sessions       list, show, add, update, enable, disable or rm one session
  counters       port and session counters
  ports          ports: driver, hw-profile, probed capabilities, counters
  profiles       the hw-profiles ports are matched against
  maps           export or import the address maps
  policy         validate, diff, apply or show the whole mirror policy
  plan           show where each piece of the policy runs: NIC, software or both
  events         restarts, fallbacks, policy changes (--follow: as they happen)
  fault          add (netem's syntax), list, show, start, stop, rm, dry-run,
                 timeline: failure injection on the shadow path
  experiment     run FILE (live progress), list, show, stop, rm, timeline
  config         validate a file; export or import the running configuration
  topology       export the shadow replica of a production topology; import
                 its security rules
  metrics        the Prometheus exposition
  alerts         threshold alerts: list, rules, set, check, rm, export
  query          evaluate an expression over the supervisor's series
  dashboard      print the dashboard's address (live charts, alerts, events)
  openapi        the admin API's OpenAPI document

  offline:
  audit          look for production addresses in shadow captures (leak audit)
  doctor         check this host (DPDK, hugepages, IOMMU, vfio, NICs, firmware)
  version        print versions
  help [cmd]     show help for a command (help exit-codes: what exit statuses mean)

The API is found from --url URL, else $SHADOWTAP_URL, else url: in
~/.config/shadowtap/cli.yaml (or $XDG_CONFIG_HOME/shadowtap/cli.yaml), else
http://127.0.0.1:9465; a token likewise from --token, $SHADOWTAP_TOKEN, or
token: / token_file: in that file, and sent as "Authorization: Bearer".

Run \`shadowtap <command> --help\` for a command's options.

examples:
  shadowtap run                              # the embedded demo
  shadowtap run --config /etc/shadowtap.yaml
  shadowtap check-config /etc/shadowtap.yaml
  shadowtap policy apply policy.yaml
  shadowtap plan --config /etc/shadowtap.yaml --explain
  shadowtap status
  shadowtap sessions disable 7
  shadowtap policy apply policy.yaml --diff
  shadowtap events --follow
  shadowtap doctor --for=pci
`,
  run: `usage: shadowtap run [--config FILE] [--log-format json|pretty] [--log-level LEVEL]
                     [--max-capture-mb N] [--capture-keep N] [--discard-state]

Starts the data plane under supervision (restarted with backoff if it dies)
and the admin API (/healthz, /readyz, /metrics, /v1/...: docs/api.md; the
other commands talk to it). A policy applied through the API is saved under
<run_dir>/state/ and restored on the next run, unless the file's policy
section has changed since (then the file wins, as the next generation).
A saved state that cannot be read or no longer validates stops the start
(exit 1) with the reason; --discard-state moves it aside and starts from the
file. The API refuses to start on a non-loopback api.host without a token.

Without --config the embedded demo runs: a generated capture replayed in a
loop as production traffic into a sink, copies translated (10.0.0.0/16 ->
10.99.0.0/16, fd00::/16 -> fd99::/16) and written to <run_dir>/shadow.pcap,
plus the tap interface st-shadow0 when running as root.

Captures: a capture file the data plane writes (net_pcap tx_pcap=) is
rotated aside before every start and restart, never truncated: FILE becomes
FILE.1, FILE.1 becomes FILE.2, ... (as tcpdump -W), keeping --capture-keep
of them. net_pcap cannot reopen its file while it runs, so such a capture is
not rotated by size or time while running: --max-capture-mb stops the run
at a size instead. For rotation while running, use a capture port: a shadow
port with device net_stcap0 and a capture section, e.g.
  capture: { path: shadow-%Y%m%d-%H%M%S.pcapng,
             rotate: { size_mb: 100, seconds: 3600, count: 24 } }
writes pcapng from a thread of its own and rotates by size, time and count
as tcpdump -C 100 -G 3600 -W 24 would, never overwriting a file, restarts
included (docs/captures.md; --max-capture-mb does not apply to it).

options:
  -c, --config FILE       YAML configuration (default: the embedded demo)
      --log-format FMT    json (default) or pretty
      --log-level LEVEL   fatal, error, warn, info, debug, trace, silent
                          (default: the config's log.level)
      --max-capture-mb N  stop when a capture file passes N MiB; 0 = no limit
                          (default 2048). The demo replays 2,000 packets/s
                          (ports[].rx_pps) and writes about 1,930 copies/s:
                          about 830 KiB/s (measured: 0.81 MiB/s, 2.9 GiB an
                          hour), so the default limit stops it after about
                          40 minutes.
      --capture-keep N    rotated captures kept per file (default 10; 0 =
                          keep every one)
      --discard-state     move <run_dir>/state/policy.json aside (kept as
                          policy.json.discarded-<time>) and start from the
                          configuration file's policy, continuing its
                          generation
  -h, --help              this text

exit status: 0 after a clean stop (SIGINT/SIGTERM), 1 if the data plane or
the API cannot start, 2 for an invalid configuration or usage, 3 when a
capture reached --max-capture-mb (the run stopped cleanly).

examples:
  shadowtap run
  shadowtap run --log-format pretty
  shadowtap run -c site.yaml --log-level debug --capture-keep 3
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
  policy: `usage: shadowtap policy validate FILE [--config BASE] [--url URL] [--json]
       shadowtap policy diff FILE [--url URL] [--json]
       shadowtap policy apply FILE [--diff [--yes]] [--url URL] [--json]
       shadowtap policy show [--url URL] [--json]

The mirror policy: translate, match, sessions, targets, security (see
docs/policy.md). FILE is YAML or JSON: a whole configuration (its policy
keys are used) or only the policy keys.

  validate  check FILE and print the compiled plan, its warnings (shadowed
            or overlapping rules, unsafe maps accepted with allow) and the
            policy in words. A policy-only FILE needs the ports: --config
            BASE (checked locally) or a running shadowtap (--url or
            $SHADOWTAP_URL: POST /v1/policy/validate).
  diff      a unified diff of the running policy (GET /v1/policy) against
            FILE's, both with defaults filled, so only real changes show;
            exit 0 when they are the same, 1 when they differ (as diff(1)).
  apply     replace the running policy with FILE's (PUT /v1/policy); it is
            installed while traffic flows, and nothing changes if it fails.
            --diff shows the diff first and asks before applying (--yes:
            do not ask; without a terminal, --diff needs --yes); the apply
            carries the ETag of the policy diffed (If-Match), so a policy
            changed in between is not overwritten.
  show      print the running policy's plan (GET /v1/policy).

options:
      --url URL       the admin API (default $SHADOWTAP_URL, url: in
                      ~/.config/shadowtap/cli.yaml, or ${'http://127.0.0.1:9465'})
      --token TOKEN   bearer token (default $SHADOWTAP_TOKEN or the file's)
  -c, --config BASE   validate: the configuration whose ports FILE refers to
      --diff          apply: show the diff and confirm first
  -y, --yes           apply --diff: apply without asking
      --json          print the API's JSON instead of text
  -h, --help          this text

exit status: 0 ok (diff: no differences), 1 invalid policy or refused (diff:
they differ; apply --diff: not confirmed), 2 usage, 3 the API cannot be
reached, 5 not allowed.

examples:
  shadowtap policy validate site.yaml
  shadowtap policy validate policy.yaml --config site.yaml
  shadowtap policy diff policy.yaml
  shadowtap policy apply policy.yaml --diff
  shadowtap policy apply policy.yaml --diff --yes   # in a script
  shadowtap policy show --url http://10.0.0.5:9465
`,
  plan: `usage: shadowtap plan [--config FILE] [--explain | --json]
       shadowtap plan --url URL [--explain | --json]

The placement plan (docs/offload.md): for every session on every port it
listens to, what the NIC does in hardware (rte_flow rules), what the
software path does (which stage), or both, and why; the control-plane
punts; every hardware rule with the dpdk-testpmd commands that reproduce it.

Offline (default): FILE (or the embedded demo) is validated and its policy
compiled; each port's driver comes from its device name (net_pcap0 ->
net_pcap) or, for a PCI address, from /sys/bus/pci/devices/<address>
(vendor:device id and kernel driver); a net_shadowsim port emulates the
family of its profile= file. Each port is matched to a hw-profile and planned
on the profile's facts: nothing is probed (the plan says "not probed").
With --url, the running shadowtap's plan (GET /v1/plan), made with the
driver names DPDK reported.

options:
  -c, --config FILE   the configuration to plan (default: the embedded demo)
      --url URL       a running shadowtap's admin API, e.g. ${'http://127.0.0.1:9465'}
      --explain       every piece with its placement and reason, the paths
                      not taken, every hardware rule with its testpmd commands,
                      the MARK values the software path reads
      --json          the plan as GET /v1/plan returns it
  -h, --help          this text

Without --explain or --json: one line per port and per session placement.

exit status: 0 ok, 1 invalid configuration (every problem is listed) or
refused by the API, 2 usage, 3 the API cannot be reached.

examples:
  shadowtap plan
  shadowtap plan --config site.yaml --explain
  shadowtap plan -c site.yaml --json | jq '.sessions[] | {session, port: .port.name, path, reason}'
  shadowtap plan --url http://127.0.0.1:9465 --explain
`,
  topology: `usage: shadowtap topology export --config FILE --in TOPOLOGY [--out FILE] [--security] [--strict]
       shadowtap topology export --in TOPOLOGY [--url URL]
       shadowtap topology import --in TOPOLOGY [--no-enforce] [--url URL] [--json]

export with --config works offline; without it, the running shadowtap
translates with the maps in force (POST /v1/topology/export). import sends
the topology to the running shadowtap, whose translated security rules
become the policy's security section, enforced unless --no-enforce (POST
/v1/topology/import).

Reads a production topology (JSON: subnets, instances with ip/mac, security
rules as 5-tuple allow/deny lists; docs/policy.md shows the format) and
prints its shadow replica: every address translated by FILE's maps (prefix
maps, host overrides, MAC maps), as JSON. Addresses no map covers are kept
and reported on stderr.

options:
  -c, --config FILE   the configuration whose translate section applies
      --in FILE       the production topology
  -o, --out FILE      write there instead of stdout
      --security      print only the translated security rules, as the
                      YAML security section of a configuration
      --strict        exit 1 when an address could not be translated
  -h, --help          this text

examples:
  shadowtap topology export --config site.yaml --in prod.json > shadow.json
  shadowtap topology export -c site.yaml --in prod.json --security >> policy.yaml
`,
  audit: `usage: shadowtap audit CAPTURE... [--config FILE] [--json] [--max N] [--strict]

Scans every frame of each shadow capture, at every byte offset (aligned or
not), for a production address: 4 bytes inside a production IPv4 prefix or
16 inside a production IPv6 prefix (the "from" side of FILE's translate maps
and host overrides). Each finding says which frame, where (header and offset
in it, or payload), the address and its prefix, and its kind: "field" when
the bytes are exactly an address field of a header the audit knows (IPv4 and
IPv6 source and destination, ARP, the quoted header of ICMP errors, DHCP's
address fields, ND targets): a leak; "payload" past the headers it knows
(DNS answers, routing updates, tunnels), to review; "header" for bytes
across header fields that happen to match (a /16 matches two bytes).

options:
  -c, --config FILE   the configuration whose maps say what production is
                      (default: the embedded demo's: 10.0.0.0/16, fd00::/16)
      --json          every finding, as JSON
      --max N         list at most N findings per capture (default 20)
      --strict        exit 1 on "payload" findings too
  -h, --help          this text

exit status: 0 no production address in an address field (nor in a payload
with --strict), 1 findings, 2 usage or unreadable input.

examples:
  shadowtap audit run/shadow.pcap                 # after npm start
  shadowtap audit -c site.yaml /var/lib/shadowtap/shadow.pcap
  shadowtap audit -c site.yaml --json shadow.pcap | jq '.captures[].findings[] | select(.kind != "header")'
`,
};
