# Runner self-test: a guest that never finishes must be stopped and fail.
while :; do sleep 1; done
