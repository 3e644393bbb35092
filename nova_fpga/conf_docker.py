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

"""Options of the Docker compute driver, in ``[docker]``.

Importing this module registers them on ``oslo_config.cfg.CONF``. It
imports neither Nova nor the Docker SDK, so that the option listing
(oslo-config-generator) works on any host.
"""

from oslo_config import cfg

CONF = cfg.CONF

docker_group = cfg.OptGroup(
    'docker',
    title='Docker compute driver options',
    help='Options of compute_driver = docker.DockerDriver, which runs '
         'every instance as a Docker container on a Docker daemon of the '
         'compute host.')

docker_opts = [
    cfg.StrOpt(
        'host_url',
        default='unix:///var/run/docker.sock',
        help='URL of the Docker daemon API. The daemon must run on this '
             'compute host, because the devices passed into containers are '
             'checked on this host: a unix:// socket, or tcp:// on a local '
             'address. Several nova-compute services (each with its own '
             '[DEFAULT] host) may share one daemon: each sees and manages '
             'only the containers it created.'),
    cfg.IntOpt(
        'api_timeout',
        default=120,
        min=1,
        help='Seconds one request to the Docker daemon may take before it '
             'fails. Stopping a container adds the stop timeout Nova asks '
             'for on top of this.'),
    cfg.StrOpt(
        'network_mode',
        default='none',
        choices=[
            ('none', 'no network but the loopback interface (what an '
                     'instance booted with --nic none expects)'),
            ('bridge', "the daemon's default bridge network"),
            ('host', "the compute host's own network stack"),
        ],
        help='Network of the containers. The driver does not plug Neutron '
             'ports into containers.'),
    cfg.ListOpt(
        'allowed_devices',
        default=[],
        help='Device paths of the host that images may ask for in their '
             'docker_devices property, as shell glob patterns matched one '
             'path component at a time ("/dev/nvidia*" matches '
             '"/dev/nvidia0", not "/dev/nvidia/0"). A build asking for a '
             'device outside this list fails with a fault naming the '
             'device. Empty by default: images get no device but the '
             "instance's own FPGA region. FPGA region devices are never "
             'passed because of this list (see fpga_device_patterns).'),
    cfg.ListOpt(
        'fpga_device_patterns',
        default=['/dev/fpga*'],
        help='Glob patterns (matched like allowed_devices) of the device '
             'paths of FPGA regions on this host, as fpga-cli prints them. '
             'A container gets only the device of its own region: '
             'docker_devices entries matching these patterns, naming '
             "another container's region, or naming the same device node "
             'as one of those are never passed. The default matches the '
             'reference fpga-cli.py.'),
    cfg.BoolOpt(
        'keep_unused_images',
        default=True,
        help='Keep an image loaded from Glance in the daemon when no '
             'container uses it any more, so that the next boot of it does '
             'not download it again. The image cache pass of nova-compute '
             '([image_cache] manager_interval) removes those unused for '
             'longer than [image_cache] '
             'remove_unused_original_minimum_age_seconds, when [image_cache] '
             'remove_unused_base_images is True. When False, an image is '
             'removed from the daemon as soon as the last container using '
             'it is destroyed.'),
    cfg.StrOpt(
        'image_download_dir',
        help='Directory for the temporary copy of an image archive while '
             'it is downloaded from Glance and loaded into the daemon '
             '(twice its size at most). Default: the temporary directory '
             'of the service (TMPDIR).'),
]


def register_opts(conf):
    conf.register_group(docker_group)
    conf.register_opts(docker_opts, group=docker_group)


def list_opts():
    """The options, for oslo-config-generator."""
    return [(docker_group, docker_opts)]


register_opts(CONF)
