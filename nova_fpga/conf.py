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

"""Configuration options of nova_fpga.

The ``[DEFAULT]`` names are the ones the 2016 instructions taught
operators (``fpga_access``, ``fpga_simulation_mode``, ``fpga_exec``), so
existing nova.conf files keep working. Everything new lives in ``[fpga]``.

Importing this module registers the options on ``oslo_config.cfg.CONF``,
the object Nova's services parse their configuration into.
"""

from oslo_config import cfg

CONF = cfg.CONF

fpga_group = cfg.OptGroup(
    'fpga',
    title='FPGA accelerator options',
    help='Options for programming FPGA regions with fpga-cli and for '
         'choosing the IP core an instance gets.')

default_opts = [
    cfg.BoolOpt(
        'fpga_access',
        default=False,
        help='Whether this compute host has an FPGA that Nova may program. '
             'When True, the host reports its FPGA regions (from '
             '"fpga-cli status") and builds of instances asking for an IP '
             'core program a region with "fpga-cli burn".'),
    cfg.StrOpt(
        'fpga_exec',
        help='The fpga-cli executable (a name found on the rootwrap '
             'exec_dirs, or an absolute path), for example "fpga-cli.py". '
             'Any tool that keeps the fpga-cli contract (burn/erase/status) '
             'can be named here. Required when fpga_access is True.'),
    cfg.BoolOpt(
        'fpga_simulation_mode',
        default=False,
        help='Log burn and erase requests instead of running them. Status '
             'is still read from fpga_exec. For trying the scheduling path '
             'on a host whose FPGA must not be touched.'),
]

fpga_opts = [
    cfg.BoolOpt(
        'allow_image_ip_id',
        default=False,
        help='Also take hw:fpga_ip_id from the image properties when the '
             'flavor has none. Off by default: users can create images, '
             'and an IP core chosen by a user could damage the FPGA. Only '
             'flavors, which operators control, choose the IP core then.'),
    cfg.IntOpt(
        'command_timeout',
        default=120,
        min=1,
        max=86400,
        help='Seconds an fpga-cli command may run before it is killed and '
             'the operation fails (a hung FPGA tool must never hang a build '
             'or a periodic task).'),
    cfg.StrOpt(
        'root_helper',
        default='sudo nova-rootwrap /etc/nova/rootwrap.conf',
        help='Command prefix that runs fpga_exec as root, a new process '
             'for every command, when root_helper_daemon is empty. The '
             'rootwrap filter file fpga.filters must be installed in the '
             'rootwrap filters_path. Neither helper is used when the '
             'service runs as root: fpga_exec then runs directly.'),
    cfg.StrOpt(
        'root_helper_daemon',
        default='sudo nova-rootwrap-daemon /etc/nova/rootwrap.conf',
        help='Command that starts a long-running rootwrap daemon through '
             'which fpga_exec runs as root, when the service does not run '
             'as root. It saves starting sudo and rootwrap for every '
             'command, most of the cost of a status poll. One daemon is '
             'started per fpga-cli verb, on first use, so a status poll '
             'never waits behind a burn; commands of one verb run one at '
             'a time. Each command runs inside "timeout -s KILL '
             '<command_timeout>", as root, which fpga.filters allows, and '
             'fpga_exec is then found on the daemon\'s PATH (sudo\'s '
             'secure_path). Set it empty to start root_helper for every '
             'command instead.'),
    cfg.ListOpt(
        'trusted_image_owners',
        default=[],
        help='Glance owners whose FPGA IP-core images may be burned: '
             'Keystone project IDs, compared with the "owner" field of the '
             'image hw:fpga_ip_id names. Besides these, an image owned by '
             'the project of the request that builds the instance is '
             'trusted when that request has the admin role (Nova\'s '
             'context_is_admin policy): the admin projects. Nothing else '
             'is, so by default only admins booting from the project that '
             'owns the IP core can use it; list that project\'s ID here to '
             'let every project use flavors naming its IP cores. "*" '
             'trusts every owner and skips the Glance lookup (for '
             'simulation only). Checked on the compute host before every '
             'burn; an untrusted image fails the build with an error naming '
             'the image and its owner.'),
    cfg.BoolOpt(
        'reap_orphaned_regions',
        default=True,
        help='Erase programmed FPGA regions that no instance of this '
             'compute host holds (a failed erase, a crash between burn and '
             'spawn, an instance deleted while the host was down), in the '
             'resource tracker\'s periodic task. Needs a fpga_exec that '
             'lists its regions ("status --json"); with one that does not, '
             'orphans are only counted and logged. Turn it off when '
             'something outside this nova-compute service programs regions '
             'of the same FPGA (another compute service sharing it, an '
             'operator testing by hand).'),
    cfg.IntOpt(
        'orphaned_region_grace_period',
        default=120,
        min=0,
        help='Seconds a programmed region must have been seen without an '
             'instance holding it before it is erased. Builds in progress '
             'in this service are never reaped whatever this says; the '
             'grace period covers what the service cannot see, such as a '
             'region burned by hand a moment ago.'),
]


def register_opts(conf):
    conf.register_opts(default_opts)
    conf.register_group(fpga_group)
    conf.register_opts(fpga_opts, group=fpga_group)


def list_opts():
    """The options, for oslo-config-generator (entry point nova_fpga)."""
    # Imported here rather than at the top: importing registers [docker],
    # which only Docker compute nodes need.
    from nova_fpga import conf_docker
    return [
        ('DEFAULT', default_opts),
        (fpga_group, fpga_opts),
        (conf_docker.docker_group, conf_docker.docker_opts),
    ]


register_opts(CONF)
