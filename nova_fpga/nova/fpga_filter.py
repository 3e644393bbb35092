# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""FpgaFilter, enabled as ``nova.scheduler.filters.fpga_filter.FpgaFilter``.

The patch adds that module to Nova's filter package (so it is part of
``nova.scheduler.filters.all_filters`` and ``enabled_filters`` can name
``FpgaFilter``); the class lives here.
"""

from oslo_log import log as logging

from nova.scheduler import filters

from nova_fpga.nova import scheduler

LOG = logging.getLogger(__name__)


class FpgaFilter(filters.BaseHostFilter):
    """Filter out hosts without a free FPGA region for an IP request.

    Requests whose flavor carries no ``hw:fpga_ip_id`` pass every host.
    The counts come from ``fpga-cli status`` on the host, so regions used
    outside Nova count too; Placement's ``CUSTOM_FPGA_REGION`` inventory
    makes the final claim atomic.
    """

    # A rebuild keeps the instance's host and its region.
    RUN_ON_REBUILD = False

    def filter_all(self, filter_obj_list, spec_obj):
        """Decide once per request, not once per host, whether to look.

        The scheduler runs every enabled filter over every candidate host:
        a request without an IP core, or a rebuild, passes them all for
        the price of one check, and the others cost one comparison a host.
        """
        # Imported here as Nova's BaseHostFilter does.
        from nova.scheduler import utils
        if not scheduler.asks_for_fpga(spec_obj) or (
                not self.RUN_ON_REBUILD
                and utils.request_is_rebuild(spec_obj)):
            return filter_obj_list
        return [host_state for host_state in filter_obj_list
                if self._has_free_region(host_state)]

    def host_passes(self, host_state, spec_obj):
        if not scheduler.asks_for_fpga(spec_obj):
            return True
        return self._has_free_region(host_state)

    def _has_free_region(self, host_state):
        total = getattr(host_state, 'fpga_regions', 0) or 0
        used = getattr(host_state, 'fpga_regions_used', 0) or 0
        if total - used < 1:
            LOG.debug('%(host_state)s has no free FPGA region: '
                      '%(used)d of %(total)d used',
                      {'host_state': host_state, 'used': used,
                       'total': total})
            return False
        return True
