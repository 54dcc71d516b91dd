"""Network layer: private-only VPC, security groups, VPC endpoints and flow logs. No NAT, no internet gateway."""

import pulumi_aws as aws

from shared.components import network as components
from shared.constants import GATEWAY_ENDPOINT_SERVICES
from shared.contract import Layer
from shared.settings import no_settings
from shared.stack import export_layer, start_layer

ctx = start_layer(Layer.NETWORK, no_settings)
env, namer = ctx.env, ctx.namer

# Only the Region's own AZs: opted-in Local and Wavelength Zones also report "available", and their names sort
# first (ap-southeast-2-per-1a), which would put RDS and the endpoints in a Local Zone.
zones = tuple(
    aws.get_availability_zones(
        state="available", filters=[{"name": "opt-in-status", "values": ["opt-in-not-required"]}]
    ).names
)
# Each endpoint service's name as the Region publishes it (DescribeVpcEndpointServices), never built from a pattern:
# some partitions name their services differently (cn.com.amazonaws.<region>.<service> in China).
gateway_services = {
    service: aws.ec2.get_vpc_endpoint_service(service=service, service_type="Gateway").service_name
    for service in GATEWAY_ENDPOINT_SERVICES
}
interface_services = {
    service: aws.ec2.get_vpc_endpoint_service(service=service, service_type="Interface").service_name
    for service in env.interface_endpoints
}
s3_prefix_list = aws.ec2.get_prefix_list(name=gateway_services["s3"])

account_id = aws.get_caller_identity().account_id
vpc = components.Vpc(
    "vpc",
    components.VpcArgs(
        name_prefix=namer.prefix,
        cidr_block=env.subnets.vpc_cidr,
        subnet_cidrs=env.subnets.by_role,
        workload_az_count=env.endpoint_az_count,
        availability_zones=zones,
        account_id=account_id,
        flow_log_group_name=f"/aws/vpc/flow-logs/{namer.prefix}",
        log_retention_days=env.log_retention_days,
    ),
)
groups = components.SecurityGroups(
    "security-groups",
    components.SecurityGroupsArgs(
        name_prefix=namer.prefix,
        vpc_id=vpc.vpc.id,
        vpc_cidr=env.subnets.vpc_cidr,
        s3_prefix_list_id=s3_prefix_list.id,
    ),
)
endpoints = components.VpcEndpoints(
    "endpoints",
    components.VpcEndpointsArgs(
        name_prefix=namer.prefix,
        gateway_services=gateway_services,
        interface_services=interface_services,
        vpc_id=vpc.vpc.id,
        route_table_ids=[table.id for table in vpc.route_tables.values()],
        subnet_ids=vpc.subnet_ids["lambda"],  # one per AZ the workloads span
        security_group_id=groups.groups["endpoints"].id,
    ),
)

export_layer(
    Layer.NETWORK,
    {
        "vpc_id": vpc.vpc.id,
        "vpc_cidr": vpc.vpc.cidr_block,
        "availability_zones": list(zones[:2]),
        "subnet_ids": vpc.subnet_ids,
        "route_table_ids": {role: table.id for role, table in vpc.route_tables.items()},
        "security_group_ids": groups.ids,
        "endpoint_ids": endpoints.ids,
        "s3_prefix_list_id": s3_prefix_list.id,
        "flow_log_group_name": vpc.flow_log_group.name,
    },
)
