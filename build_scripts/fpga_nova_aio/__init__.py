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

"""The fpga-nova all-in-one cloud (``build_scripts/aio.sh``).

Stands up, on one Debian 12 machine and on 127.0.0.1 only, a real
FPGA-aware OpenStack cloud: MariaDB, RabbitMQ, Keystone, Glance,
Placement, a Neutron API, Nova (API, conductor, scheduler) patched with
``nova-fpga-patch``, a private Docker daemon and two nova-compute
services on the Docker driver, ``compute1`` with a simulated two-region
FPGA and ``compute2`` without one. The same code deploys a controller
alone or one compute service alone (``--role``) for several machines.

This package runs on the system's Python 3 and uses its standard library
only: it is what installs everything else. Work that needs the OpenStack
libraries runs in the cloud's virtualenv (:mod:`.cloud_api`).

Modules: :mod:`.cli` (commands and options), :mod:`.settings` (paths,
ports, versions, passwords), :mod:`.steps` (printing and timing of
steps, running commands), :mod:`.processes` (services started and
stopped by pid), :mod:`.readiness` (whether a service serves, whether a
port is free), :mod:`.packages` (apt, virtualenv, pip, the Nova patch),
:mod:`.configs` (configuration files), :mod:`.deploy` (the steps of
``up``), :mod:`.teardown` (``down`` and ``status``), :mod:`.cloud_api`
(API work, run in the cloud's virtualenv).
"""
