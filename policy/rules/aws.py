"""AWS IAM rules (seed 004 and checkov's CKV_AWS IAM checks)."""

from __future__ import annotations

from pulumi_policy import (
    EnforcementLevel,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from baseline.documents.aws import BOUNDARY_CONDITIONED_ACTIONS
from policy.rules.common import AWS_ROLE, UNKNOWN, allows, known, label, permission_documents, statements

ADMINISTRATOR_ARN_SUFFIX = ":policy/AdministratorAccess"
ATTACHMENTS = {
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": "role",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment": "user",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment": "group",
    "aws:iam/policyAttachment:PolicyAttachment": "principals",
}


def role_permissions_boundary(args: ResourceValidationArgs, report_violation) -> None:
    if args.resource_type != AWS_ROLE:
        return
    boundary = known(args.props, "permissionsBoundary")
    # Unknown during preview = the ARN of a policy created in the same update: it is set.
    if boundary is UNKNOWN:
        return
    if not boundary:
        report_violation(
            f"IAM role {known(args.props, 'name')} has no permissions boundary; set permissionsBoundary "
            "to the stack's boundary policy (region restriction, production protection)."
        )


def no_aws_administrator_access(args: ResourceValidationArgs, report_violation) -> None:
    if args.resource_type == AWS_ROLE:
        arns = known(args.props, "managedPolicyArns") or []
        arns = [] if arns is UNKNOWN else arns
    elif args.resource_type in ATTACHMENTS:
        arns = [known(args.props, "policyArn")]
    else:
        return
    for arn in arns:
        if isinstance(arn, str) and arn.startswith("arn:aws") and arn.endswith(ADMINISTRATOR_ARN_SUFFIX):
            report_violation(f"{arn} is attached; grant the use case's own managed policy instead.")


# Creating a role, or changing a role's policies or boundary: the role actions that carry the
# iam:PermissionsBoundary condition key (the boundary the role has or gets), as S6's boundary
# lists them.
ROLE_CHANGES = tuple(a for a in BOUNDARY_CONDITIONED_ACTIONS if "Role" in a)


def _names_boundary(statement) -> bool:
    """A positive match on iam:PermissionsBoundary (an ...IfExists form would let a request
    without a boundary through)."""
    return any(
        operator in ("StringEquals", "ArnEquals", "StringLike", "ArnLike")
        and "iam:permissionsboundary" in {k.lower() for k in block}
        for operator, block in (statement.get("Condition") or {}).items()
    )


def role_changes_need_boundary(args: StackValidationArgs, report_violation) -> None:
    """Whoever may create roles or change their policies escalates unless the role must carry a
    boundary: create an unbounded role, give it *:*, assume it. iam:PutRolePolicy writes any
    inline policy, so it is refused outright. A permissions boundary's own Allow is a ceiling
    and is skipped (``permission_documents``)."""
    for resource, doc in permission_documents(args):
        for index, statement in statements(doc):
            granted = [a for a in ROLE_CHANGES if allows(statement, a)]
            if not granted:
                continue
            if "iam:PutRolePolicy" in granted:
                report_violation(
                    f"{label(index, statement)} allows iam:PutRolePolicy: an inline policy can grant "
                    "anything; attach a listed managed policy instead.",
                    resource.urn,
                )
            elif not _names_boundary(statement):
                report_violation(
                    f"{label(index, statement)} allows {', '.join(granted)} without an "
                    "iam:PermissionsBoundary condition; require the stack's boundary ARN.",
                    resource.urn,
                )


ROLE_CHANGES_NEED_BOUNDARY = StackValidationPolicy(
    name="role-changes-need-boundary",
    description="Creating roles or changing their policies needs an iam:PermissionsBoundary condition; "
    "no iam:PutRolePolicy.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=role_changes_need_boundary,
)
ROLE_PERMISSIONS_BOUNDARY = ResourceValidationPolicy(
    name="role-permissions-boundary",
    description="Every IAM role has a permissions boundary.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=role_permissions_boundary,
)
NO_AWS_ADMINISTRATOR_ACCESS = ResourceValidationPolicy(
    name="no-aws-administrator-access",
    description="No IAM role, user or group gets the AWS managed AdministratorAccess policy.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=no_aws_administrator_access,
)
