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

"""Reaping FPGA regions that no instance holds.

A region stays programmed when its erase failed at delete, when the
compute service died between a burn and the instance's save, or when an
instance was deleted while its host was down. Every periodic resource
update of the compute host compares the regions fpga-cli reports in use
(``status --json``) with the regions the host's live instances hold
(their ``fpga_device``), and erases the others, logging each action.

What is never erased:

* a region any live instance of the host holds, whatever its state
  (ERROR and SHELVED instances included: their delete erases it);
* anything while a build of this service is between its burn and its
  save, or when one started or ended while the pass looked
  (:data:`nova_fpga.regions.BUILDS`): the pass is deferred;
* a region seen orphaned for less than ``[fpga]
  orphaned_region_grace_period`` seconds, which covers what this service
  cannot see (a burn by hand, another process).

A vendor tool without ``status --json`` cannot say which regions are in
use: the pass then compares counts (``status``) with the regions
instances hold and logs a warning when more are in use, naming no
region; nothing is erased.

This module needs no Nova: the caller passes the host's held regions as
a callable (:func:`nova_fpga.nova.resource_tracker.update_compute_node`
reads them from Nova's database).
"""

import collections
import time

from oslo_log import log as logging

from nova_fpga import conf as fpga_conf
from nova_fpga import exception
from nova_fpga import fpga_cli
from nova_fpga import regions

LOG = logging.getLogger(__name__)

# What a pass did; the resource tracker reuses ``unusable``.
PassResult = collections.namedtuple(
    'PassResult', 'erased kept deferred unusable')


class OrphanReaper(object):
    """Remembers, per host, since when each orphaned region was seen."""

    def __init__(self, clock=time.monotonic):
        """:param clock: returns the current time in seconds."""
        self._clock = clock
        # (host, region id) -> when the region was first seen orphaned.
        self._orphaned_since = {}
        # Hosts whose fpga_exec was found without "status --json".
        self._without_listing = set()

    def reap(self, host, held_regions, conf=None, builds=None):
        """One pass over the host's FPGA.

        :param host: the compute host (``[DEFAULT] host``) whose regions
            these are.
        :param held_regions: callable returning {region id: instance
            uuid} for every live instance of the host holding a region.
        :returns: a PassResult; ``unusable`` holds the reason when the
            FPGA did not answer (not accessible, timed out), else None.
        Never raises for an FPGA or tool failure.
        """
        conf = conf or fpga_conf.CONF
        builds = builds or regions.BUILDS
        snapshot = builds.snapshot(host)
        try:
            client = fpga_cli.FpgaCli.from_conf(conf)
        except exception.FpgaError:
            # Unusable options: "status" reports them.
            return PassResult([], [], False, None)
        try:
            programmed = client.programmed_regions()
        except (exception.FpgaNotAccessible,
                exception.FpgaCliTimeout) as e:
            return PassResult([], [], False, e.message)
        except exception.FpgaCliNotFound:
            # No fpga_exec to run at all: "status" reports it.
            return PassResult([], [], False, None)
        except exception.FpgaError as e:
            if not snapshot[1]:
                self._count_instead(host, held_regions, conf, e)
            return PassResult([], [], False, None)
        if host in self._without_listing:
            LOG.info('fpga-cli %s lists its regions again: orphaned FPGA '
                     'regions of host %s are reaped again',
                     conf.fpga_exec, host)
            self._without_listing.discard(host)

        held = held_regions()
        orphans = [region for region in programmed
                   if region.region_id not in held]
        with builds.reaping(host, snapshot) as quiet:
            if not quiet:
                LOG.debug('An FPGA build of host %s is in progress: '
                          'orphaned regions are looked for next time', host)
                return PassResult([], [], True, None)
            return self._erase_due(host, orphans, client, conf)

    def _erase_due(self, host, orphans, client, conf):
        now = self._clock()
        seen = {region.region_id for region in orphans}
        for key in [key for key in self._orphaned_since
                    if key[0] == host and key[1] not in seen]:
            del self._orphaned_since[key]
        erased, kept = [], []
        for region in orphans:
            since = self._orphaned_since.setdefault(
                (host, region.region_id), now)
            age = now - since
            if age < conf.fpga.orphaned_region_grace_period:
                LOG.info('FPGA region %(region)s (IP core %(image)s) is '
                         'programmed but no instance of host %(host)s '
                         'holds it; erasing it once it has been so for '
                         '%(grace)d seconds',
                         {'region': region.region_id,
                          'image': region.image_id or 'unknown',
                          'host': host,
                          'grace': conf.fpga.orphaned_region_grace_period})
                kept.append(region.region_id)
                continue
            if self._erase(host, region, client):
                erased.append(region.region_id)
                del self._orphaned_since[(host, region.region_id)]
            else:
                kept.append(region.region_id)
        return PassResult(erased, kept, False, None)

    def _erase(self, host, region, client):
        try:
            client.erase(region.region_id)
        except exception.FpgaError as e:
            if (isinstance(e, exception.FpgaRegionUnknown)
                    and not self._still_programmed(region, client)):
                # Erased since it was listed, by its instance's delete.
                LOG.info('Orphaned FPGA region %(region)s of host %(host)s '
                         'was erased meanwhile',
                         {'region': region.region_id, 'host': host})
                return True
            LOG.error('Cannot erase orphaned FPGA region %(region)s of host '
                      '%(host)s, trying again at the next periodic update if '
                      'it is still programmed: %(error)s',
                      {'region': region.region_id, 'host': host,
                       'error': e.message})
            return False
        LOG.warning('Erased orphaned FPGA region %(region)s (IP core '
                    '%(image)s): no instance of host %(host)s holds it',
                    {'region': region.region_id,
                     'image': region.image_id or 'unknown', 'host': host})
        return True

    @staticmethod
    def _still_programmed(region, client):
        try:
            return region in client.programmed_regions()
        except exception.FpgaError:
            return True

    def _count_instead(self, host, held_regions, conf, error):
        """Degrade to counting when the tool cannot list its regions."""
        if host not in self._without_listing:
            LOG.warning('fpga-cli %(exec)s cannot list its regions '
                        '("status --json": %(error)s): orphaned FPGA '
                        'regions of host %(host)s are only counted, not '
                        'erased', {'exec': conf.fpga_exec,
                                   'error': error.message, 'host': host})
            self._without_listing.add(host)
        try:
            used = fpga_cli.FpgaCli.from_conf(conf).status().used
        except exception.FpgaError:
            # The resource tracker reports this failure itself.
            return
        held = len(held_regions())
        if used > held:
            LOG.warning('%(used)d FPGA regions of host %(host)s are in use '
                        'but its instances hold %(held)d: erase the others '
                        'with fpga-cli, or use an fpga-cli that has '
                        '"status --json"',
                        {'used': used, 'held': held, 'host': host})


#: The reaper of this process (its memory of orphans survives passes).
REAPER = OrphanReaper()
