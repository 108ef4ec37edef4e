# Sourced by bench/edge/profile.sh and regions.sh: the edge scraper's configuration for
# bench/edge/run.sh's load (node_exporter and the synthetic targets every 5 s, remote-write into
# VictoriaMetrics, the built-in node collector off, the queue in QUEUE_DIR).
#
# edge_yml AGENT NODE_EXPORTER_PORT TARGETS VM_PORT QUEUE_DIR  (TARGETS: "'127.0.0.1:P1','127.0.0.1:P2'")
edge_yml() {
    cat <<YML
global:
  scrape_interval: 5s
  scrape_timeout: 5s
  external_labels: {agent: $1}
scrape_configs:
  - job_name: node
    static_configs: [{targets: ['127.0.0.1:$2']}]
  - job_name: synthetic
    static_configs: [{targets: [$3]}]
remote_write:
  - url: http://127.0.0.1:$4/api/v1/write
node: {enabled: false}
queue: {dir: $5, max_bytes: 512MiB}
YML
}
