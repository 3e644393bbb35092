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

"""Commands and options of aio.sh.

Exit status: 0 success, 1 a step failed (the output says which and why;
a re-run of up continues from there), 2 wrong command line; status
exits 1 when a service is not running and 3 when none is.
"""

import argparse
import fcntl
import ipaddress
import os
import re
import socket
import sys

from fpga_nova_aio import deploy
from fpga_nova_aio import settings as aio_settings
from fpga_nova_aio import steps
from fpga_nova_aio import teardown

PROGRAM = os.environ.get('FPGA_NOVA_AIO_COMMAND', 'aio.sh')
_HOST_NAME_RE = re.compile(r'[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\Z')

DESCRIPTION = '''\
The fpga-nova cloud on one machine (role "all", the default): MariaDB,
RabbitMQ, Keystone, Glance, Placement, a Neutron API, the patched Nova and
two nova-compute services on the Docker driver, compute1 with a simulated
2-region FPGA and compute2 without one, all on 127.0.0.1. Roles
"controller" and "compute" deploy the two halves on separate machines.
'''

EPILOG = '''\
commands:
  up       install what is missing and start what is not running; a
           re-run skips what is done and restarts services whose
           configuration changed
  down     stop every service (by pid), remove the containers, erase the
           simulated FPGA regions and remove the state directory
           (--purge: also the logs and the virtualenv)
  status   the services, their pids, memory and logs
  restart  stop every service, then up

environment: FPGA_NOVA_AIO_STATE_DIR, FPGA_NOVA_AIO_VENV and
FPGA_NOVA_AIO_LOG_DIR set the defaults of --state-dir, --venv and
--log-dir.
'''


def _whole_number(text, minimum, what):
    try:
        value = int(text)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise argparse.ArgumentTypeError(
            '%r is not a whole number of %s (%d or more)'
            % (text, what, minimum))
    return value


def _positive_or_zero(text):
    return _whole_number(text, 0, 'regions')


def _computes(text):
    """NAME:REGIONS[,NAME:REGIONS...] -> a tuple of Compute."""
    computes = []
    for item in text.split(','):
        name, _, regions = item.partition(':')
        computes.append(aio_settings.Compute(_host_name(name),
                                             _positive_or_zero(regions)))
    names = [compute.name for compute in computes]
    if len(set(names)) != len(names):
        raise argparse.ArgumentTypeError('%r names a compute twice' % text)
    return tuple(computes)


def _process_count(text):
    return _whole_number(text, 1, 'processes')


def _ipv4(text):
    try:
        return str(ipaddress.IPv4Address(text))
    except ValueError:
        raise argparse.ArgumentTypeError('%r is not an IPv4 address' % text)


def _host_name(text):
    if not _HOST_NAME_RE.match(text):
        raise argparse.ArgumentTypeError(
            '%r is not a host name (letters, digits and -, at most 63)'
            % text)
    return text


def build_parser():
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        '--role', choices=aio_settings.ROLES, default='all',
        help='all: the whole cloud (default); controller: the controller '
             'services only; compute: one nova-compute and its Docker '
             'daemon, joining a controller')
    common.add_argument(
        '--state-dir', default=os.environ.get(
            'FPGA_NOVA_AIO_STATE_DIR', aio_settings.DEFAULT_STATE_DIR),
        help='configuration, databases, images, keys, pids (default '
             '%(default)s)')
    common.add_argument(
        '--venv', default=os.environ.get('FPGA_NOVA_AIO_VENV',
                                         aio_settings.DEFAULT_VENV),
        help='the virtualenv of OpenStack (default %(default)s); kept by '
             'down, so that the next up does not install again')
    common.add_argument(
        '--log-dir', default=os.environ.get('FPGA_NOVA_AIO_LOG_DIR'),
        help='a log file per service (default /var/log/<name of the state '
             'directory>: %s for the default state directory)'
             % aio_settings.DEFAULT_LOG_DIR)
    common.add_argument(
        '--compute-driver', choices=('docker', 'fake'), default='docker',
        help='docker: docker.DockerDriver (default); fake: Nova\'s '
             'fake.FakeDriverWithoutFakeNodes, no containers')
    common.add_argument(
        '--controller', type=_ipv4, metavar='ADDRESS',
        help='the controller\'s address: where its services listen (role '
             'controller) or where a compute finds them (role compute); '
             'default 127.0.0.1')
    common.add_argument(
        '--my-ip', type=_ipv4, metavar='ADDRESS',
        help='role compute: this machine\'s address as the controller '
             'reaches it (default 127.0.0.1)')
    common.add_argument(
        '--compute-name', type=_host_name, metavar='NAME',
        help='role compute: the compute service\'s host name (default: '
             'this machine\'s short host name)')
    common.add_argument(
        '--fpga-regions', type=_positive_or_zero, default=None,
        metavar='N', help='role compute: regions of the simulated FPGA '
                          '(default 2; 0: no FPGA)')
    common.add_argument(
        '--computes', type=_computes, metavar='NAME:REGIONS,...',
        help='role all: the nova-compute services and the regions of '
             'their simulated FPGAs (default %s; 0: no FPGA)' % ','.join(
                 '%s:%d' % (c.name, c.fpga_regions)
                 for c in aio_settings.ALL_IN_ONE_COMPUTES))
    common.add_argument(
        '--schedulers', type=_process_count, default=1, metavar='N',
        help='nova-scheduler processes (default %(default)s), each a '
             'service of its own')
    common.add_argument(
        '--secrets', metavar='FILE',
        help='role compute: a copy of the controller\'s '
             '<state-dir>/secrets.json')
    common.add_argument(
        '--debug', action='store_true',
        help='debug logging in every OpenStack service')

    parser = argparse.ArgumentParser(
        prog=PROGRAM, description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest='command', required=True,
                                     metavar='COMMAND')
    commands.add_parser('up', parents=[common],
                        help='stand the cloud up (or finish it)')
    down = commands.add_parser('down', parents=[common],
                               help='stop everything and remove the state')
    down.add_argument('--purge', action='store_true',
                      help='also remove the logs and the virtualenv')
    commands.add_parser('status', parents=[common],
                        help='the services and their memory')
    commands.add_parser('restart', parents=[common],
                        help='stop every service, then up')
    return parser


def make_settings(parser, args):
    def refuse(message):
        parser.error(message)

    if not args.log_dir:
        # Logs outlive down, and two clouds never share them.
        args.log_dir = os.path.join('/var/log', os.path.basename(
            os.path.abspath(args.state_dir).rstrip('/')))
    for name in ('state_dir', 'venv', 'log_dir'):
        value = os.path.abspath(getattr(args, name))
        if value == '/' or len(value.strip('/').split('/')) < 2:
            refuse('--%s %s is too close to / for a directory that down '
                   'removes' % (name.replace('_', '-'), value))
        setattr(args, name, value)
    # The Docker daemon's sockets live under the state directory, and a
    # unix socket path has at most 107 bytes.
    if len(os.path.join(args.state_dir, 'docker', 'exec', 'containerd',
                        'containerd.sock.ttrpc')) > 100:
        refuse('--state-dir %s is too long for the Docker daemon\'s unix '
               'sockets under it' % args.state_dir)
    compute_options = ('my_ip', 'compute_name', 'fpga_regions', 'secrets')
    if args.computes and args.role != 'all':
        refuse('--computes only goes with --role all (a compute-only '
               'machine runs one: --compute-name, --fpga-regions)')
    if args.role == 'compute':
        if not args.secrets:
            refuse('--role compute needs --secrets (a copy of the '
                   'controller\'s secrets.json)')
        if not args.controller:
            refuse('--role compute needs --controller ADDRESS')
        name = args.compute_name or socket.gethostname().split('.')[0]
        regions = 2 if args.fpga_regions is None else args.fpga_regions
        computes = (aio_settings.Compute(name, regions),)
    else:
        given = [option for option in compute_options
                 if getattr(args, option) is not None]
        if given:
            refuse('--%s only goes with --role compute'
                   % given[0].replace('_', '-'))
        computes = args.computes or aio_settings.ALL_IN_ONE_COMPUTES
        if args.role == 'all' and args.controller not in (
                None, aio_settings.LOOPBACK):
            refuse('--role all runs on 127.0.0.1 only, not on --controller '
                   '%s: use --role controller' % args.controller)
    controller = args.controller or aio_settings.LOOPBACK
    return aio_settings.Settings(
        role=args.role,
        state_dir=args.state_dir,
        venv=args.venv,
        log_dir=args.log_dir,
        compute_driver=args.compute_driver,
        computes=computes,
        bind_address=controller,
        controller_address=controller,
        my_address=args.my_ip or aio_settings.LOOPBACK,
        secrets_file=(os.path.abspath(args.secrets) if args.secrets
                      else None),
        debug=args.debug,
        schedulers=args.schedulers)


def _lock(settings):
    """Hold a lock so that two runs never work on one state directory."""
    path = settings.state_dir.rstrip('/') + '.lock'
    os.makedirs(os.path.dirname(path), exist_ok=True)
    stream = open(path, 'w')
    try:
        fcntl.flock(stream, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print('%s: error: another %s works on %s now (lock %s)'
              % (PROGRAM, PROGRAM, settings.state_dir, path),
              file=sys.stderr)
        sys.exit(1)
    return stream


def _up(settings):
    cloud = deploy.Cloud(settings)
    seconds = steps.run_steps(
        '%s up: role %s, state %s, logs %s' % (
            PROGRAM, settings.role, settings.state_dir, settings.log_dir),
        cloud.up_steps())
    cloud.summary(seconds)


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    settings = make_settings(parser, args)
    if os.geteuid() != 0:
        parser.error('run as root: up installs Debian packages and starts '
                     'services')
    if args.command == 'status':
        return teardown.status(settings)
    lock = _lock(settings)
    try:
        if args.command == 'up':
            _up(settings)
        elif args.command == 'restart':
            steps.run_steps('%s restart: stopping' % PROGRAM,
                            teardown.stop_steps(settings))
            _up(settings)
        elif args.command == 'down':
            seconds = steps.run_steps(
                '%s down: state %s' % (PROGRAM, settings.state_dir),
                teardown.down_steps(settings, args.purge))
            # Nothing of the cloud is left but its lock (and logs).
            os.unlink(lock.name)
            print('\nDown in %s.%s' % (
                steps.format_seconds(seconds),
                '' if args.purge else ' Logs stay in %s; the virtualenv '
                'in %s.' % (settings.log_dir, settings.venv)))
    except steps.StepFailed:
        print('\n%s %s stopped at the step that failed. Fix what it says '
              'and run "%s up" again (it continues from there), or "%s '
              'down" to remove everything.' % (PROGRAM, args.command,
                                               PROGRAM, PROGRAM),
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print('\ninterrupted', file=sys.stderr)
        return 130
    finally:
        lock.close()
    return 0
