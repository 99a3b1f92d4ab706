"""hold_lock.py DIRECTORY READY_FILE: hold the lock xen_vif takes for DIRECTORY, as another run would, then
write READY_FILE and sleep until killed."""
import os
import sys
import time

from ansible_collections.xenfleet.network.plugins.module_utils.common.locks import hold, lock_path

directory = os.path.realpath(sys.argv[1])
with hold(lock_path('xl', directory), 'xen_vif', directory, 0):
    with open(sys.argv[2], 'w') as ready:
        ready.write(lock_path('xl', directory))
    time.sleep(600)
