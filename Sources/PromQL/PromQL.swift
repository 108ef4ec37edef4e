// PromQL: see DESIGN.md. Implementation in progress.
