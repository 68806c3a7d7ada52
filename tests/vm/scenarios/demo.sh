# make demo: page a workload out through zswap and show what happened.
zdedup_demo 64
