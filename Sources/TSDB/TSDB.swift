// TSDB: see DESIGN.md. Implementation in progress.
