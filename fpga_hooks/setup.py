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

import setuptools

setuptools.setup(
    name='fpga_hooks',
    version='1.0.0',
    description='Nova hooks that program and erase FPGA regions',
    license='Apache-2.0',
    packages=['fpga_hooks'],
    python_requires='>=3.10',
    install_requires=['nova_fpga'],
    entry_points={
        'nova.hooks': [
            'build_instance = fpga_hooks.hooks:FpgaBuildInstanceHook',
            'delete_instance = fpga_hooks.hooks:FpgaDeleteInstanceHook',
        ],
    },
)
