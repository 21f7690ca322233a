# opro-sim: src/sched.h (the host's scheduler) shadows the system <sched.h>
# that <pthread.h> includes when src/ is on the -I path; the simulator's
# files include their own headers with quotes, so src/ goes on -iquote.
$(OUT)/sim/%.o: SIM_CFLAGS := $(filter-out -Isrc,$(SIM_CFLAGS)) -iquote src
