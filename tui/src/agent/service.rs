//! The `tetragon.FineGuidanceSensors` service: events from the fan-out, policy calls to the
//! task that owns the source.
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use super::{
    control::{self, PolicyName},
    fanout::{Fanout, StreamItem},
    filter::RequestFilter,
    proto::{self, fine_guidance_sensors_server::FineGuidanceSensors},
};
use crate::policy::model::Mode;

#[derive(Clone)]
pub struct Service {
    pub fanout: Arc<Fanout>,
    pub requests: mpsc::Sender<control::Request>,
    /// Policy-changing calls are refused (`--read-only`).
    pub read_only: bool,
}

type Answer<T> = Result<Response<T>, Status>;

impl Service {
    /// Sends a request to the source's task and waits for its answer.
    async fn ask<T>(
        &self,
        request: impl FnOnce(control::Reply<T>) -> control::Request,
    ) -> Result<T, Status> {
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(request(reply))
            .await
            .map_err(|_| Status::unavailable("the agent is stopping"))?;
        answer
            .await
            .map_err(|_| Status::unavailable("the agent is stopping"))?
    }

    fn writable(&self) -> Result<(), Status> {
        if self.read_only {
            Err(Status::permission_denied(
                "this agent is read-only (--read-only): policies cannot be changed through it",
            ))
        } else {
            Ok(())
        }
    }

    async fn configure(
        &self,
        policy: PolicyName,
        enable: Option<bool>,
        mode: Option<Mode>,
    ) -> Result<(), Status> {
        self.writable()?;
        self.ask(|reply| control::Request::Configure {
            policy,
            enable,
            mode,
            reply,
        })
        .await
    }
}

fn deprecated(what: &str) -> Status {
    Status::unimplemented(format!("{what} is deprecated"))
}

fn mode_of(value: i32) -> Result<Mode, Status> {
    match proto::TracingPolicyMode::try_from(value) {
        Ok(proto::TracingPolicyMode::TpModeEnforce) => Ok(Mode::Enforce),
        Ok(proto::TracingPolicyMode::TpModeMonitor) => Ok(Mode::Monitor),
        _ => Err(Status::invalid_argument(format!(
            "mode {value}: expected TP_MODE_ENFORCE or TP_MODE_MONITOR"
        ))),
    }
}

#[tonic::async_trait]
impl FineGuidanceSensors for Service {
    type GetEventsStream = ReceiverStream<StreamItem>;

    async fn get_events(
        &self,
        request: Request<proto::GetEventsRequest>,
    ) -> Answer<Self::GetEventsStream> {
        let filter = RequestFilter::new(request.get_ref())
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
        Ok(Response::new(ReceiverStream::new(
            self.fanout.subscribe(filter),
        )))
    }

    async fn get_health(
        &self,
        _: Request<proto::GetHealthStatusRequest>,
    ) -> Answer<proto::GetHealthStatusResponse> {
        Ok(Response::new(proto::GetHealthStatusResponse {
            health_status: vec![proto::HealthStatus {
                event: proto::HealthStatusType::Status.into(),
                status: proto::HealthStatusResult::HealthStatusRunning.into(),
                details: "running".into(),
            }],
        }))
    }

    async fn add_tracing_policy(
        &self,
        request: Request<proto::AddTracingPolicyRequest>,
    ) -> Answer<proto::AddTracingPolicyResponse> {
        self.writable()?;
        let proto::AddTracingPolicyRequest { yaml, domain } = request.into_inner();
        self.ask(|reply| control::Request::Add {
            yaml,
            domain,
            reply,
        })
        .await?;
        Ok(Response::new(proto::AddTracingPolicyResponse {}))
    }

    async fn delete_tracing_policy(
        &self,
        request: Request<proto::DeleteTracingPolicyRequest>,
    ) -> Answer<proto::DeleteTracingPolicyResponse> {
        self.writable()?;
        let r = request.into_inner();
        let policy = PolicyName::new(r.name, r.namespace, r.domain);
        self.ask(|reply| control::Request::Delete { policy, reply })
            .await?;
        Ok(Response::new(proto::DeleteTracingPolicyResponse {}))
    }

    async fn remove_sensor(
        &self,
        _: Request<proto::RemoveSensorRequest>,
    ) -> Answer<proto::RemoveSensorResponse> {
        Err(deprecated("RemoveSensor"))
    }

    async fn list_tracing_policies(
        &self,
        request: Request<proto::ListTracingPoliciesRequest>,
    ) -> Answer<proto::ListTracingPoliciesResponse> {
        let domain = request.into_inner().domain;
        let policies = self
            .ask(|reply| control::Request::List { domain, reply })
            .await?;
        Ok(Response::new(proto::ListTracingPoliciesResponse {
            policies,
        }))
    }

    async fn enable_tracing_policy(
        &self,
        request: Request<proto::EnableTracingPolicyRequest>,
    ) -> Answer<proto::EnableTracingPolicyResponse> {
        let r = request.into_inner();
        let policy = PolicyName::new(r.name, r.namespace, r.domain);
        self.configure(policy, Some(true), None).await?;
        Ok(Response::new(proto::EnableTracingPolicyResponse {}))
    }

    async fn disable_tracing_policy(
        &self,
        request: Request<proto::DisableTracingPolicyRequest>,
    ) -> Answer<proto::DisableTracingPolicyResponse> {
        let r = request.into_inner();
        let policy = PolicyName::new(r.name, r.namespace, r.domain);
        self.configure(policy, Some(false), None).await?;
        Ok(Response::new(proto::DisableTracingPolicyResponse {}))
    }

    async fn configure_tracing_policy(
        &self,
        request: Request<proto::ConfigureTracingPolicyRequest>,
    ) -> Answer<proto::ConfigureTracingPolicyResponse> {
        let request = request.into_inner();
        let mode = request.mode.map(mode_of).transpose()?;
        let policy = PolicyName::new(request.name, request.namespace, request.domain);
        self.configure(policy, request.enable, mode).await?;
        Ok(Response::new(proto::ConfigureTracingPolicyResponse {}))
    }

    async fn list_sensors(
        &self,
        _: Request<proto::ListSensorsRequest>,
    ) -> Answer<proto::ListSensorsResponse> {
        Err(deprecated("ListSensors"))
    }

    async fn enable_sensor(
        &self,
        _: Request<proto::EnableSensorRequest>,
    ) -> Answer<proto::EnableSensorResponse> {
        Err(deprecated("EnableSensor"))
    }

    async fn disable_sensor(
        &self,
        _: Request<proto::DisableSensorRequest>,
    ) -> Answer<proto::DisableSensorResponse> {
        Err(deprecated("DisableSensor"))
    }

    async fn list_domains(
        &self,
        _: Request<proto::ListDomainsRequest>,
    ) -> Answer<proto::ListDomainsResponse> {
        Ok(Response::new(proto::ListDomainsResponse {
            domains: ["static", "grpc", "k8s"].map(String::from).into(),
        }))
    }

    async fn get_version(
        &self,
        _: Request<proto::GetVersionRequest>,
    ) -> Answer<proto::GetVersionResponse> {
        Ok(Response::new(proto::GetVersionResponse {
            version: version(),
        }))
    }

    async fn get_info(&self, _: Request<proto::GetInfoRequest>) -> Answer<proto::GetInfoResponse> {
        Ok(Response::new(proto::GetInfoResponse {
            version: version(),
            name: "tetrascope".into(),
            ..Default::default()
        }))
    }

    async fn runtime_hook(
        &self,
        _: Request<proto::RuntimeHookRequest>,
    ) -> Answer<proto::RuntimeHookResponse> {
        Err(Status::unimplemented(
            "runtime hooks are not used: tetrascope maps containers from cgroups",
        ))
    }

    async fn get_debug(
        &self,
        request: Request<proto::GetDebugRequest>,
    ) -> Answer<proto::GetDebugResponse> {
        match proto::ConfigFlag::try_from(request.into_inner().flag) {
            Ok(proto::ConfigFlag::LogLevel) => Ok(Response::new(proto::GetDebugResponse {
                flag: proto::ConfigFlag::LogLevel.into(),
                arg: Some(proto::get_debug_response::Arg::Level(
                    proto::LogLevel::Info.into(),
                )),
            })),
            _ => Err(Status::unimplemented("only the log level can be read")),
        }
    }

    async fn set_debug(
        &self,
        _: Request<proto::SetDebugRequest>,
    ) -> Answer<proto::SetDebugResponse> {
        Err(Status::unimplemented("the log level is fixed"))
    }
}

/// The version as Tetragon writes its own (`v1.7.0`).
fn version() -> String {
    format!("v{}", env!("CARGO_PKG_VERSION"))
}
