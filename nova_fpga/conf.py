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
        help='Seconds an fpga-cli command may run before it is killed and '
             'the operation fails (a hung FPGA tool must never hang a build '
             'or a periodic task).'),
    cfg.StrOpt(
        'root_helper',
        default='sudo nova-rootwrap /etc/nova/rootwrap.conf',
        help='Command prefix that runs fpga_exec as root. The rootwrap '
             'filter file fpga.filters must be installed in the rootwrap '
             'filters_path. Set it empty to run fpga_exec directly, when '
             'the service already runs as root.'),
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
