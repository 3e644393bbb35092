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

"""fpga-cli.py: the fpga-cli contract over a simulated FPGA.

Environment:

``FPGA_CLI_REGIONS``    regions of the simulated FPGA (default 2)
``FPGA_CLI_STATE_DIR``  state directory (default /var/lib/fpga-cli for
                        root, else $XDG_STATE_HOME/fpga-cli or
                        ~/.local/state/fpga-cli)
``FPGA_CLI_DEV_DIR``    where region device nodes are made (default /dev)
``FPGA_CLI_DEV_NAME``   what their names start with (default "fpga":
                        fpga<region>.<burn>); simulated FPGAs sharing a
                        device directory each need their own
``FPGA_CLI_BOARD``      the board name packages must be built for
                        (default "simulated")
``FPGA_CLI_REUSE=0``    always reprogram: never hand out a free region
                        that already holds the requested IP core
``FPGA_CLI_PACKAGE_CACHE=0``  fetch and verify the IP-core package from
                        Glance on every burn, not only the first of an
                        image
``FPGA_ERROR=1``        every command fails with its error code; a
                        comma-separated list of verbs (``erase``) makes
                        only those fail
``FPGA_CLI_HANG``       comma-separated verbs that hang until killed:
                        ``burn`` before it does anything, ``burn:after``
                        once the region is programmed, before its id is
                        printed (fault injection)
``OS_CLOUD``, ``OS_AUTH_URL``, ... (or ``OS_IMAGE_URL`` with
``OS_AUTH_TOKEN``)      Glance credentials: burn then fetches and
                        verifies the IP-core package
"""

import os
import stat
import sys
import time

from nova_fpga import exception
from nova_fpga import glance_credentials
from nova_fpga.simulator import state

EXIT_OK = 0
EXIT_UNKNOWN_REGION = 33
EXIT_BURN_FAILED = 64
EXIT_NOT_ACCESSIBLE = 127

VERBS = ('status', 'burn', 'erase')
DEFAULT_REGIONS = 2
DEFAULT_BOARD = 'simulated'
# Region device nodes get the numbers of /dev/zero: harmless to open,
# read and write, and present on every Linux host.
DEVICE_TEMPLATE = '/dev/zero'
DEVICE_NAME_PATTERN = r'[A-Za-z0-9_-]{1,64}\Z'
# What a free region keeps of the IP core it held, so that a later burn
# of the same IP core can hand it out without reprogramming it.
LOADED_FIELDS = ('image_id', 'name', 'version', 'sha256', 'programmed_at')


class CommandError(Exception):
    """Ends the command: message to stderr, exit_code returned."""

    def __init__(self, message, exit_code):
        super().__init__(message)
        self.exit_code = exit_code


def _burn_error(image_id, reason):
    return CommandError("Error: cannot programm `%s' - %s"
                        % (image_id, reason), EXIT_BURN_FAILED)


def _erase_error(region_id, reason='unknown region'):
    return CommandError("Error: cannot erase FPGA device with id `%s' - %s"
                        % (region_id, reason), EXIT_UNKNOWN_REGION)


def _status_error(reason=None):
    message = 'Error: FPGA device is not accesible'
    return CommandError(message + (': %s' % reason if reason else ''),
                        EXIT_NOT_ACCESSIBLE)


class SimulatedFpga(object):
    """One simulated FPGA, configured from the environment."""

    def __init__(self, environ):
        self.environ = environ
        self.state_file = state.StateFile(_state_dir(environ))
        self.dev_dir = environ.get('FPGA_CLI_DEV_DIR') or '/dev'
        self.board = environ.get('FPGA_CLI_BOARD') or DEFAULT_BOARD
        self.reuse = environ.get('FPGA_CLI_REUSE', '1') != '0'
        self.cache_packages = environ.get('FPGA_CLI_PACKAGE_CACHE',
                                          '1') != '0'
        failing = {verb.strip() for verb in
                   environ.get('FPGA_ERROR', '').split(',')} - {'', '0'}
        # Any other value than a list of verbs ("1") fails every verb.
        self.failing_verbs = (failing if failing <= set(VERBS)
                              else set(VERBS))
        self.hanging = {point.strip() for point in
                        environ.get('FPGA_CLI_HANG', '').split(',')} - {''}

    def _hang_at(self, point):
        """Fault injection: never return (until killed) at point."""
        if point in self.hanging:
            while True:
                time.sleep(3600)

    def _device_name(self):
        import re
        name = self.environ.get('FPGA_CLI_DEV_NAME') or 'fpga'
        if not re.match(DEVICE_NAME_PATTERN, name):
            raise state.StateError(
                'FPGA_CLI_DEV_NAME=%r is not the start of a file name '
                '(letters, digits, "-" and "_")' % name)
        return name

    def _total(self):
        raw = self.environ.get('FPGA_CLI_REGIONS', str(DEFAULT_REGIONS))
        try:
            total = int(raw)
        except ValueError:
            total = -1
        if total < 1:
            raise state.StateError(
                'FPGA_CLI_REGIONS=%r is not a positive whole number' % raw)
        return total

    def status(self, as_json=False):
        self._hang_at('status')
        if 'status' in self.failing_verbs:
            raise _status_error()
        try:
            with self.state_file.locked():
                total = self._total()
                counts = (None if as_json
                          else self.state_file.usage(total))
                if counts is None:
                    table = self.state_file.load(total)
                    counts = table.used, table.total
        except state.StateError as e:
            raise _status_error(str(e))
        if not as_json:
            return 'Used regions: %d/%d' % counts
        # Imported here: the JSON modules are most of what a plain
        # status, which Nova polls, would otherwise cost.
        import json
        return json.dumps({
            'used': table.used, 'total': table.total, 'board': self.board,
            'regions': [_describe(region) for region in table.regions],
        }, indent=2, sort_keys=True)

    def burn(self, image_id):
        self._hang_at('burn')
        if 'burn' in self.failing_verbs:
            raise _burn_error(image_id, 'no matching hardware found')
        manifest = self._verify(image_id)
        try:
            with self.state_file.locked():
                table = self.state_file.load(self._total())
                region, reused = self._choose_region(table, image_id,
                                                     manifest)
                if region is None:
                    raise _burn_error(image_id, 'no free region (%d/%d '
                                      'used)' % (table.used, table.total))
                # A new id for every burn, also of a reused region: the id
                # of an earlier burn never reaches this one.
                region_id = os.path.join(
                    self.dev_dir, '%s%d.%d' % (self._device_name(),
                                               region['index'],
                                               table.next_burn))
                device_node = self._make_device(region_id, image_id)
                if not reused:
                    for field in LOADED_FIELDS:
                        region.pop(field, None)
                    region.update(
                        image_id=image_id,
                        programmed_at=_utc_now(),
                        **(manifest or {}))
                region.update(region_id=region_id, device_node=device_node,
                              reused=reused)
                table.next_burn += 1
                try:
                    self.state_file.save(table)
                except state.StateError:
                    if device_node:
                        _remove_device(region_id)
                    raise
        except state.StateError as e:
            raise _burn_error(image_id, str(e))
        self._hang_at('burn:after')
        return region_id

    def _choose_region(self, table, image_id, manifest):
        """A free region for image_id, and whether it already holds it.

        Only free regions are ever chosen. One that holds the same IP
        core (the same image, and for verified packages the same
        bitstream) is reused; otherwise an empty one is preferred, so
        that loaded IP cores stay for later reuse.
        """
        free = [region for region in table.regions
                if not region['region_id']]
        if self.reuse:
            for region in free:
                if region.get('image_id') == image_id and (
                        manifest is None
                        or region.get('sha256') == manifest['sha256']):
                    return region, True
        for region in free:
            if not region.get('image_id'):
                return region, False
        return (free[0], False) if free else (None, False)

    def erase(self, region_id):
        if 'erase' in self.failing_verbs:
            raise _erase_error(region_id)
        try:
            with self.state_file.locked():
                table = self.state_file.load(self._total())
                region = table.find(region_id)
                if region is None:
                    raise _erase_error(region_id)
                if region.get('device_node'):
                    _remove_device(region_id)
                # The region is free; the IP core stays loaded (its state
                # reset) for a later burn of it, unless reuse is off.
                kept = {field: region[field] for field in LOADED_FIELDS
                        if field in region and self.reuse}
                index = region['index']
                region.clear()
                region.update(index=index, region_id=None, **kept)
                self.state_file.save(table)
        except state.StateError as e:
            raise _erase_error(region_id, str(e))

    def _verify(self, image_id):
        """Fetch and verify the IP core when Glance is configured.

        Returns the manifest fields to record, or None in simulation
        without Glance, where the id is taken as an opaque string. A
        package verified before is not fetched again.
        """
        verified = (self.state_file.verified_manifest(image_id)
                    if self.cache_packages else None)
        if verified is None:
            if glance_credentials.glance_environment(self.environ) is None:
                return None
            from nova_fpga.simulator import ip_core
            try:
                manifest = ip_core.fetch_verified_manifest(self.environ,
                                                           image_id)
            except exception.FpgaError as e:
                raise _burn_error(image_id, e.message)
            verified = {'name': manifest.name, 'version': manifest.version,
                        'sha256': manifest.sha256, 'board': manifest.board}
            self.state_file.record_verified(image_id, verified)
        board = verified.get('board')
        if board and board != self.board:
            raise _burn_error(
                image_id, 'no matching hardware found (package %s is for '
                'board %r, this FPGA is %r)'
                % (verified.get('name'), board, self.board))
        return {field: verified.get(field)
                for field in ('name', 'version', 'sha256')}

    def _make_device(self, path, image_id):
        """Create the region's device node when running as root."""
        if os.geteuid() != 0:
            return False
        template = os.stat(DEVICE_TEMPLATE)
        try:
            os.makedirs(self.dev_dir, exist_ok=True)
            os.mknod(path, 0o660 | stat.S_IFCHR, template.st_rdev)
        except OSError as e:
            raise _burn_error(image_id, 'cannot create device %s: %s'
                              % (path, e.strerror))
        return True


def _utc_now():
    # ISO 8601 as datetime writes it, without importing datetime.
    now = time.time()
    return '%s.%06d+00:00' % (time.strftime('%Y-%m-%dT%H:%M:%S',
                                            time.gmtime(now)),
                              now % 1 * 1e6)


def _remove_device(path):
    try:
        if stat.S_ISCHR(os.lstat(path).st_mode):
            os.unlink(path)
    except FileNotFoundError:
        pass


def _describe(region):
    described = dict(region)
    described['programmed'] = bool(region['region_id'])
    described['device'] = region['region_id']
    described.pop('device_node', None)
    return described


def _state_dir(environ):
    configured = environ.get('FPGA_CLI_STATE_DIR')
    if configured:
        return configured
    if os.geteuid() == 0:
        return '/var/lib/fpga-cli'
    base = environ.get('XDG_STATE_HOME') or os.path.join(
        os.path.expanduser('~'), '.local', 'state')
    return os.path.join(base, 'fpga-cli')


def _parser():
    import argparse
    parser = argparse.ArgumentParser(
        prog='fpga-cli.py',
        description='Program, erase and query FPGA regions (simulated).',
        epilog=__doc__.split('\n\n', 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    verbs = parser.add_subparsers(dest='verb', required=True)
    status = verbs.add_parser('status', help='print "Used regions: N/M"')
    status.add_argument('--json', action='store_true',
                        help='print every region as JSON')
    burn = verbs.add_parser('burn', help='program a free region; print '
                            'its id')
    burn.add_argument('image_id', help='Glance id of the IP-core image')
    erase = verbs.add_parser('erase', help='erase a region burn returned')
    erase.add_argument('region_id', help='region id printed by burn')
    return parser


def _command(argv):
    """(verb, argument) of a command line.

    The forms Nova runs are read directly: building the argparse parser
    costs more than the rest of a status call. argparse reads anything
    else, so that help and usage errors stay its own.
    """
    if argv in (['status'], ['status', '--json']):
        return 'status', len(argv) == 2
    if (len(argv) == 2 and argv[0] in ('burn', 'erase')
            and not argv[1].startswith('-')):
        return tuple(argv)
    args = _parser().parse_args(argv)
    if args.verb == 'status':
        return 'status', args.json
    return args.verb, args.image_id if args.verb == 'burn' else args.region_id


def main(argv=None, environ=None):
    verb, argument = _command(sys.argv[1:] if argv is None else list(argv))
    fpga = SimulatedFpga(os.environ if environ is None else environ)
    try:
        if verb == 'status':
            print(fpga.status(as_json=argument))
        elif verb == 'burn':
            print(fpga.burn(argument))
        else:
            fpga.erase(argument)
    except CommandError as e:
        print(str(e), file=sys.stderr)
        return e.exit_code
    return EXIT_OK
