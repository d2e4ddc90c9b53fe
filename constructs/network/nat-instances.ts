import { Aws, Duration, Validations } from 'aws-cdk-lib/core';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { SESSION_MANAGER_ACTIONS, grantSessionManager } from '../common/session-manager';
import { PinnedAmazonLinux2023Image } from '../fleet/amazon-linux';
import { NETWORK_DEFAULTS } from './defaults';

/** Properties of {@link NatInstances}. */
export interface NatInstancesProps {
  /** Instance type of each NAT instance, e.g. `t4g.nano` (Graviton, about $3 a month). */
  readonly instanceType: ec2.InstanceType;
  /**
   * How long CloudFormation waits for a new NAT instance to report that forwarding is set up (it signals
   * after the masquerade rule is loaded); without the signal the deploy fails and rolls back.
   * @default Duration.minutes(10)
   */
  readonly readyTimeout?: Duration;
  /**
   * The VPC's IPv4 CIDR block as a literal (`10.0.0.0/16`): the only sources the instances accept and
   * masquerade. A literal keeps the security group rule checkable at synth (cdk-nag cannot read a token).
   * @default - the VPC's CIDR block attribute
   */
  readonly vpcCidr?: string;
}

/**
 * A NAT provider of EC2 instances instead of NAT gateways, for a stage that cannot afford a gateway's $33 a
 * month: one instance per NAT "gateway" (Amazon Linux 2023, resolved at deploy time from AWS's public SSM
 * parameter), in a public subnet with its own public IPv4 address, source/destination check off, IPv4
 * forwarding on and an nftables masquerade rule for the VPC's traffic, persisted across reboots. IMDSv2 is
 * required, the root volume is encrypted gp3, the role has Session Manager access (patching, shell) and may
 * only signal its own stack, and CloudFormation waits for the instance to say forwarding works (a creation
 * policy), so a script failure fails the deploy instead of leaving the private subnets without egress. An
 * alarm reboots an instance whose own status check fails for three minutes (EC2's automatic recovery already
 * moves it off a failed host).
 *
 * Trade-offs against NAT gateways (the network stack warns about them): an instance is not a managed,
 * AZ-redundant service; EC2's automatic recovery restarts it on a host failure, not on a software fault;
 * bandwidth is the instance's (t4g.nano: 32 Mbit/s baseline, bursts to 5 Gbit/s); and a deploy that picks up
 * a new AMI replaces it, cutting egress for a minute or two while the new one boots. Its public IPv4 address is
 * assigned at launch, not an Elastic IP: a replaced instance (a new AMI or script, or the move to NAT gateways)
 * sends the private subnets' traffic from a new address, so a third party that allow-lists your egress address
 * must be told; a NAT gateway keeps its Elastic IP for its lifetime.
 *
 * Pass it to `ec2.Vpc`'s `natGatewayProvider`; after the VPC exists, {@link instances} lists the instances.
 */
export class NatInstances extends ec2.NatProvider {
  /** The NAT instances, one per NAT subnet (filled when the VPC configures NAT). */
  public readonly instances: ec2.Instance[] = [];
  private readonly gateways: Array<{ az: string; instance: ec2.Instance }> = [];
  private next = 0;

  constructor(private readonly props: NatInstancesProps) {
    super();
  }

  /** The configured gateways: each NAT instance's zone and id. */
  public get configuredGateways(): ec2.GatewayConfig[] {
    return this.gateways.map((g) => ({ az: g.az, gatewayId: g.instance.instanceId }));
  }

  /** Called by the VPC: creates one NAT instance in each NAT subnet and routes every private subnet through one. */
  public configureNat(options: ec2.ConfigureNatOptions): void {
    const { vpc } = options;
    const securityGroup = new ec2.SecurityGroup(vpc, 'NatSecurityGroup', {
      vpc,
      description: 'NAT instances: any traffic from inside the VPC, out to anywhere',
      allowAllOutbound: true,
    });
    const cidr = this.props.vpcCidr ?? vpc.vpcCidrBlock;
    securityGroup.addIngressRule(ec2.Peer.ipv4(cidr), ec2.Port.allTraffic(), 'forwarded traffic from the VPC');
    const cpuType = this.props.instanceType.architecture === ec2.InstanceArchitecture.ARM_64 ? ec2.AmazonLinuxCpuType.ARM_64 : ec2.AmazonLinuxCpuType.X86_64;

    for (const subnet of options.natSubnets) {
      const userData = ec2.UserData.forLinux();
      const instance = new ec2.Instance(subnet, 'NatInstance', {
        vpc,
        vpcSubnets: { subnets: [subnet] },
        instanceType: this.props.instanceType,
        // The release the fleets are pinned to: a floating image would replace every NAT instance (and cut egress
        // for a minute or two) on any deploy after AWS publishes a new AL2023 image.
        machineImage: new PinnedAmazonLinux2023Image({ cpuType }),
        securityGroup,
        sourceDestCheck: false,
        associatePublicIpAddress: true,
        userData,
        userDataCausesReplacement: true,
        resourceSignalTimeout: this.props.readyTimeout ?? Duration.minutes(10),
        blockDevices: [{
          deviceName: '/dev/xvda',
          volume: ec2.BlockDeviceVolume.ebs(NETWORK_DEFAULTS.natInstanceRootVolumeGiB, { volumeType: ec2.EbsDeviceVolumeType.GP3, encrypted: true }),
        }],
      });
      // IMDSv2 through a launch template of our own: `requireImdsv2` would name the template, and unless the
      // consumer sets @aws-cdk/aws-ec2:uniqueImdsv2TemplateName, every NAT instance would get the same name.
      const metadata = new ec2.CfnLaunchTemplate(instance, 'Metadata', {
        launchTemplateData: { metadataOptions: { httpTokens: 'required', httpPutResponseHopLimit: 1 } },
      });
      instance.instance.launchTemplate = { launchTemplateId: metadata.ref, version: metadata.attrLatestVersionNumber };
      userData.addCommands(...natInstanceScript(cidr, instance.instance.logicalId));
      // Session Manager only (no SSH key, no open port 22): not AmazonSSMManagedInstanceCore (`ssmSessionPermissions`),
      // which lets the instance read every SSM parameter of the account and region.
      grantSessionManager(instance);
      instance.role.addToPrincipalPolicy(new iam.PolicyStatement({
        sid: 'SignalItsOwnStack',
        actions: ['cloudformation:SignalResource'],
        resources: [Aws.STACK_ID],
      }));
      // Status checks are published every minute at no charge; a software fault (kernel, full disk) is not
      // something EC2's automatic recovery handles, a reboot is.
      new cloudwatch.Alarm(instance, 'RebootOnFailedStatusCheck', {
        alarmDescription: `NAT instance in ${subnet.availabilityZone} failed its instance status check for 3 minutes: rebooting it (private subnets routed through it have no internet egress meanwhile).`,
        metric: new cloudwatch.Metric({
          namespace: 'AWS/EC2',
          metricName: 'StatusCheckFailed_Instance',
          dimensionsMap: { InstanceId: instance.instanceId },
          statistic: 'Maximum',
          period: Duration.minutes(1),
        }),
        threshold: 1,
        evaluationPeriods: 3,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }).addAlarmAction(new actions.Ec2Action(actions.Ec2InstanceAction.REBOOT));
      acknowledge(instance);
      this.instances.push(instance);
      this.gateways.push({ az: subnet.availabilityZone, instance });
    }
    for (const subnet of options.privateSubnets) this.configureSubnet(subnet);
  }

  /** Routes `subnet`'s internet traffic through the NAT instance of its zone, else through the next one in turn. */
  public configureSubnet(subnet: ec2.PrivateSubnet): void {
    const own = this.gateways.find((g) => g.az === subnet.availabilityZone);
    const gateway = own ?? this.gateways[this.next++ % this.gateways.length];
    subnet.addRoute('DefaultRoute', {
      routerType: ec2.RouterType.INSTANCE,
      routerId: gateway.instance.instanceId,
      enablesInternetConnectivity: true,
    });
  }
}

function acknowledge(instance: ec2.Instance): void {
  Validations.of(instance).acknowledge({
    id: 'AwsSolutions-EC28',
    reason: 'A NAT instance forwards packets and holds no application: its status checks (published every minute at no charge) and EC2 automatic recovery cover it; detailed monitoring would add $2.10 a month to an instance chosen to save money.',
  });
  Validations.of(instance).acknowledge({
    id: 'AwsSolutions-EC29',
    reason: 'The NAT instance holds no state and is replaced by CloudFormation when its AMI or user data changes; termination protection would block that replacement. It is not in an Auto Scaling group because private subnets route to its instance id.',
  });
  const policy = instance.role.node.tryFindChild('DefaultPolicy');
  if (policy) {
    Validations.of(policy).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: `Only Session Manager's actions use "*" (${SESSION_MANAGER_ACTIONS.join(', ')}): they support no resource-level permission; the SSM agent registers its own instance and opens its session channels.`,
    });
  }
}

/**
 * The NAT instance's first-boot script (bash, run by cloud-init as root): IPv4 forwarding, an nftables
 * masquerade rule for traffic from `vpcCidr` leaving through the default interface, a systemd unit that loads
 * the rule at every boot, then `cfn-signal` to the instance's creation policy (`logicalId`), with failure
 * signalled on any error. Package installs retry: right after boot another dnf process may hold the lock.
 */
export function natInstanceScript(vpcCidr: string, logicalId: string): string[] {
  return [
    'set -euo pipefail',
    'signal() { /opt/aws/bin/cfn-signal --exit-code "$1" --stack "' + Aws.STACK_NAME + '" --resource "' + logicalId + '" --region "' + Aws.REGION + '" || true; }',
    'trap \'signal 1\' ERR',
    'for attempt in $(seq 1 30); do',
    '  if dnf install -y nftables aws-cfn-bootstrap; then break; fi',
    '  echo "dnf install failed (attempt $attempt of 30); retrying in 10 s" >&2',
    '  sleep 10',
    'done',
    'rpm -q nftables aws-cfn-bootstrap',
    'cat > /etc/sysctl.d/90-s2m-nat.conf <<\'EOF\'',
    'net.ipv4.ip_forward = 1',
    'net.ipv4.conf.all.send_redirects = 0',
    'net.ipv4.conf.default.send_redirects = 0',
    'EOF',
    'sysctl --system',
    'iface=$(ip -o -4 route show to default | awk \'{ print $5; exit }\')',
    'test -n "$iface"',
    'mkdir -p /etc/s2m',
    'cat > /etc/s2m/nat.nft <<EOF',
    'table ip s2m_nat',
    'delete table ip s2m_nat',
    'table ip s2m_nat {',
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    `    oifname "$iface" ip saddr ${vpcCidr} ip daddr != ${vpcCidr} masquerade`,
    '  }',
    '}',
    'EOF',
    'nft --check --file /etc/s2m/nat.nft',
    'cat > /etc/systemd/system/s2m-nat.service <<EOF',
    '[Unit]',
    'Description=scale-to-millions NAT masquerade rule',
    'Wants=network-online.target',
    'After=network-online.target',
    '[Service]',
    'Type=oneshot',
    'RemainAfterExit=yes',
    'ExecStart=$(command -v nft) --file /etc/s2m/nat.nft',
    '[Install]',
    'WantedBy=multi-user.target',
    'EOF',
    'systemctl daemon-reload',
    'systemctl enable --now s2m-nat.service',
    'test "$(sysctl -n net.ipv4.ip_forward)" = 1',
    'nft list table ip s2m_nat | grep -q masquerade',
    'signal 0',
  ];
}
